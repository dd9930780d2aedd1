/* Threads created from C, as an extension module would create them: one takes the GIL with
 * PyGILState_Ensure and calls back into Python; one never touches Python and only allocates.
 * The Python C API is declared by hand (resolved from the interpreter at load time) so one
 * build works with every Python version. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

typedef struct _object PyObject;
extern int PyGILState_Ensure(void);
extern void PyGILState_Release(int);
extern PyObject* PyObject_CallObject(PyObject*, PyObject*);
extern void Py_DecRef(PyObject*);
extern void Py_IncRef(PyObject*);

struct callback_thread
{
    PyObject* callable;
    char name[16];
};

static void* call_with_gil(void* argument)
{
    struct callback_thread* thread = argument;
    prctl(PR_SET_NAME, thread->name, 0, 0, 0);
    int gil = PyGILState_Ensure();
    PyObject* result = PyObject_CallObject(thread->callable, NULL);
    if (result) {
        Py_DecRef(result);
    }
    Py_DecRef(thread->callable);
    PyGILState_Release(gil);
    free(thread);
    return NULL;
}

/* Runs callable() in a new native thread named `name` that takes the GIL; waits for it. */
int run_in_native_thread(PyObject* callable, const char* name)
{
    struct callback_thread* thread = calloc(1, sizeof(*thread));
    thread->callable = callable;
    Py_IncRef(callable);
    strncpy(thread->name, name, sizeof(thread->name) - 1);
    pthread_t handle;
    if (pthread_create(&handle, NULL, call_with_gil, thread) != 0) {
        return -1;
    }
    return pthread_join(handle, NULL);
}

static void* allocate_natively(void* argument)
{
    size_t size = (size_t)argument;
    prctl(PR_SET_NAME, "native-worker", 0, 0, 0);
    void* volatile block = malloc(size);
    free(block);
    return NULL;
}

/* A thread that never touches Python: malloc(size) then free, in a thread named native-worker. */
int allocate_in_native_thread(size_t size)
{
    pthread_t handle;
    if (pthread_create(&handle, NULL, allocate_natively, (void*)size) != 0) {
        return -1;
    }
    return pthread_join(handle, NULL);
}
