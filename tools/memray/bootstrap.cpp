// The bootstrap is kept as a raw string literal rather than a .py file next to the executable:
// `memray run` then has nothing to find or keep in sync at run time, and the text is passed
// with -c, so the interpreter does not even open a file for it.
//
// It must compile on every Python the user might point --python at (see its header comment),
// and it must be fast: it imports nothing but runpy (for -m or a directory), because the
// whole fixed cost of `memray run` over plain python is this text plus the payload's start.
#include "bootstrap.h"

namespace memray::cli {

namespace {

constexpr std::string_view kBootstrap = R"BOOTSTRAP(
# memray run bootstrap. The memray command starts the interpreter as
#     PYTHON -c <this text> PAYLOAD CONFIG MODE TARGET [ARGS...]
# with MODE one of script, module or code. This loads PAYLOAD, starts a capture with CONFIG,
# then runs TARGET the way `PYTHON TARGET`, `PYTHON -m TARGET` or `PYTHON -c TARGET` would:
# same sys.argv, sys.path[0], __main__ namespace, exit status and traceback output.
#
# Everything lives in one function, so its name is the only thing to take out of __main__
# before user code runs there. That function calls memray_start and then exec: the payload
# (skip_caller_frames=1) hides its frame and the ones above it from every stack, and exec adds
# no Python frame, so captured stacks begin at the user's <module>.
#
# The syntax stays within what Python 2.7 compiles too, so that whatever interpreter --python
# names reaches the version check and says what is wrong rather than raising a SyntaxError.
def _memray_run():
    import sys
    main_dict = sys.modules['__main__'].__dict__
    del main_dict['_memray_run']
    own_code = (sys._getframe().f_code, sys._getframe(1).f_code)

    def forget_script_file():
        # As Python does once the script has finished (3.7 leaves __cached__ in place).
        main_dict.pop('__file__', None)
        if version >= (3, 8):
            main_dict.pop('__cached__', None)

    def fail(message):
        sys.stderr.write('memray: error: %s\n' % message)
        sys.exit(1)

    implementation = getattr(getattr(sys, 'implementation', None), 'name', 'unknown')
    version = tuple(sys.version_info[:2])
    if implementation != 'cpython' or not (3, 7) <= version <= (3, 13):
        fail('%s is Python %d.%d (%s); memray supports CPython 3.7 to 3.13'
             % (sys.executable, version[0], version[1], implementation))

    payload, config, mode, target = sys.argv[1:5]
    args = sys.argv[5:]

    # `python -c` put the current directory ('') first on sys.path. Take it away while the
    # bootstrap imports what it needs, so that a file there named like a standard module
    # cannot stand in for it; the entry Python would have set for TARGET goes in further down.
    path0_inserted = (not getattr(sys.flags, 'safe_path', False) and not sys.flags.isolated
                      and len(sys.path) > 0 and sys.path[0] == '')
    import os
    if path0_inserted:
        del sys.path[0]
        # Python 3.13 imports linecache for -c with '' on sys.path, which leaves a finder for
        # the current directory in the importer cache: plain `python SCRIPT` has none.
        try:
            cwd = os.getcwd()
        except OSError:
            cwd = None
        if cwd not in sys.path:
            sys.path_importer_cache.pop(cwd, None)
    import _frozen_importlib_external as external

    code = None
    try:
        path0 = None
        if mode == 'script':
            orig_args = [target]
            # Python 3.9+ makes the script's name absolute (without normalising it) for
            # __file__ and tracebacks; sys.argv[0] keeps the name as given.
            if version >= (3, 9) and not target.startswith('/'):
                run_filename = os.getcwd() + '/' + target
            else:
                run_filename = target
            # Python runs a directory or zip file with a __main__.py in it like `-m __main__`,
            # after asking the path hooks whether the argument is an importable location.
            importer = None
            for hook in sys.path_hooks:
                try:
                    importer = hook(run_filename)
                    break
                except ImportError:
                    pass
            sys.path_importer_cache[run_filename] = importer
            if importer is not None:
                import runpy
                sys.path.insert(0, run_filename)
            else:
                try:
                    with open(run_filename, 'rb') as script_file:
                        source = script_file.read()
                except (IOError, OSError) as error:
                    program = (getattr(sys, 'orig_argv', None) or [sys.executable])[0]
                    sys.stderr.write("%s: can't open file %r: [Errno %d] %s\n"
                                     % (program, run_filename, error.errno, error.strerror))
                    sys.exit(2)
                if run_filename.endswith('.pyc') or source[:4] == external.MAGIC_NUMBER:
                    if source[:4] != external.MAGIC_NUMBER:
                        raise RuntimeError('Bad magic number in .pyc file')
                    import marshal
                    code = marshal.loads(source[16:])
                    loader = external.SourcelessFileLoader('__main__', run_filename)
                else:
                    # From bytes, so that coding cookies and BOMs are honoured.
                    code = compile(source, run_filename, 'exec', 0, True)
                    loader = external.SourceFileLoader('__main__', run_filename)
                source = None
                # Python puts the script's real directory (symlinks resolved) first.
                path0 = os.path.dirname(os.path.realpath(run_filename))
                main_dict['__loader__'] = loader
                main_dict['__file__'] = run_filename
                main_dict['__cached__'] = None
        elif mode == 'module':
            orig_args = ['-m', target]
            import runpy
            try:
                path0 = os.getcwd()
            except OSError:
                path0 = None
        else:
            orig_args = ['-c', target]
            path0 = ''
            code = compile(target, '<string>', 'exec', 0, True)

        if path0_inserted and path0 is not None:
            sys.path.insert(0, path0)
        # runpy replaces '-m' by the module's file name once it has found it, as Python does.
        sys.argv = orig_args[:1] + args
        if hasattr(sys, 'orig_argv'):
            sys.orig_argv = sys.orig_argv[:1] + orig_args + args
        # Python 3.13 keeps the -c text in linecache under '<string>' for tracebacks: that is
        # this bootstrap now, and must be TARGET (or nothing).
        linecache = sys.modules.get('linecache')
        if linecache is not None and '<string>' in linecache.cache:
            if mode == 'code':
                linecache.cache['<string>'] = (
                    len(target), None, [line + '\n' for line in target.split('\n')], '<string>')
            else:
                del linecache.cache['<string>']

        # The payload is also an extension module (see payload/src/python_module.cpp): Python's
        # own loader costs nothing, where ctypes would cost an import. Its start() is entered
        # with the GIL held and finds this function's frame as the innermost one
        # (skip_caller_frames hides it and what is above it).
        try:
            loader = external.ExtensionFileLoader('libmemray_payload', payload)
            library = loader.create_module(
                external.spec_from_file_location('libmemray_payload', payload, loader=loader))
        except ImportError as error:
            fail('cannot load the memray payload: %s' % error)
        config = os.fsencode(config)
        # What ps and /proc/PID/cmdline show from here on: the program's command line rather
        # than this text (payload/src/process_title.h). Before start(): one thread, and the
        # payload's own allocations untracked.
        library.set_command_line(b'\0'.join(os.fsencode(a) for a in orig_args + args))

        # From here on every allocation is captured: only the start and the program may run.
        try:
            library.start(config)
        except RuntimeError as error:
            fail(str(error))
        if code is not None:
            exec(code, main_dict)
        elif mode == 'module':
            runpy._run_module_as_main(target)
        else:
            runpy._run_module_as_main('__main__', False)
    except SystemExit:
        # Python exits from inside its error printing here, with __file__ still set.
        raise
    except BaseException:
        if mode == 'script' and code is not None:
            forget_script_file()
        # The exception goes on to Python's own handling (which prints it, exits with 1,
        # or for KeyboardInterrupt dies of SIGINT from 3.8 on), but its traceback must not
        # show this bootstrap: hand the excepthook in force a traceback without the leading
        # frames that belong to it.
        previous_hook = sys.excepthook

        def excepthook(exc_type, exc_value, exc_tb):
            if sys.excepthook is excepthook:
                sys.excepthook = previous_hook
            while exc_tb is not None and exc_tb.tb_frame.f_code in own_code:
                exc_tb = exc_tb.tb_next
            if isinstance(exc_value, BaseException):
                exc_value.__traceback__ = exc_tb
            if getattr(sys, 'last_value', None) is exc_value:
                sys.last_traceback = exc_tb
            previous_hook(exc_type, exc_value, exc_tb)

        sys.excepthook = excepthook
        raise
    if mode == 'script' and code is not None:
        forget_script_file()


_memray_run()
)BOOTSTRAP";

}  // namespace

std::string_view bootstrapSource()
{
    return kBootstrap;
}

}  // namespace memray::cli
