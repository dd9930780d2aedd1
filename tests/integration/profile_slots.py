"""Every thread's profile function slot (PyThreadState.c_profilefunc) of the running interpreter,
read through ctypes at the offset of the payload's layout table (which python_frames_layout_test
checks against the headers). Before 3.12 memray's payload puts its own profile function there
in threads found deep, with a NULL object, so sys.getprofile() cannot show it: this can.

    from profile_slots import occupied_profile_slots
    occupied_profile_slots(OFFSET)   # how many thread states have a profile function
"""
import ctypes


def occupied_profile_slots(offset):
    api = ctypes.pythonapi
    api.PyInterpreterState_Head.restype = ctypes.c_void_p
    api.PyInterpreterState_Next.restype = ctypes.c_void_p
    api.PyInterpreterState_Next.argtypes = [ctypes.c_void_p]
    api.PyInterpreterState_ThreadHead.restype = ctypes.c_void_p
    api.PyInterpreterState_ThreadHead.argtypes = [ctypes.c_void_p]
    api.PyThreadState_Next.restype = ctypes.c_void_p
    api.PyThreadState_Next.argtypes = [ctypes.c_void_p]
    occupied = 0
    interpreter = api.PyInterpreterState_Head()
    while interpreter:
        tstate = api.PyInterpreterState_ThreadHead(interpreter)
        while tstate:
            if ctypes.c_void_p.from_address(tstate + offset).value:
                occupied += 1
            tstate = api.PyThreadState_Next(tstate)
        interpreter = api.PyInterpreterState_Next(interpreter)
    return occupied
