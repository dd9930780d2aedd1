"""Every thread's profile function slot (PyThreadState.c_profilefunc) of the running interpreter,
read through ctypes at the offset of the payload's layout table (which python_frames_layout_test
checks against the headers). Before 3.12 memray's payload puts its own profile function there
in threads found deep, with a NULL object, so sys.getprofile() cannot show it: this can.

    from profile_slots import occupied_profile_slots
    occupied_profile_slots(OFFSET)   # how many thread states have a profile function

The C functions are looked up once, at import: a reading costs the thread under test only a few
Python calls (which that profile function sees).
"""
import ctypes

_api = ctypes.pythonapi
_interpreter_head = _api.PyInterpreterState_Head
_interpreter_head.restype = ctypes.c_void_p
_interpreter_next = _api.PyInterpreterState_Next
_interpreter_next.restype = ctypes.c_void_p
_interpreter_next.argtypes = [ctypes.c_void_p]
_thread_head = _api.PyInterpreterState_ThreadHead
_thread_head.restype = ctypes.c_void_p
_thread_head.argtypes = [ctypes.c_void_p]
_thread_next = _api.PyThreadState_Next
_thread_next.restype = ctypes.c_void_p
_thread_next.argtypes = [ctypes.c_void_p]
_pointer_at = ctypes.c_void_p.from_address


def occupied_profile_slots(offset):
    occupied = 0
    interpreter = _interpreter_head()
    while interpreter:
        tstate = _thread_head(interpreter)
        while tstate:
            if _pointer_at(tstate + offset).value:
                occupied += 1
            tstate = _thread_next(tstate)
        interpreter = _interpreter_next(interpreter)
    return occupied
