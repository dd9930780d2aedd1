#include "run_options.h"

#include <algorithm>
#include <charconv>
#include <iostream>

#include <boost/program_options.hpp>

namespace memray::cli {

namespace po = boost::program_options;

namespace {

constexpr const char* kUsage =
    "usage: memray run [OPTIONS] (SCRIPT | -m MODULE | -c CODE) [ARGS...]";

// The payload accepts 1..60000 ms (payload/src/capture_config.cpp); refusing anything else
// here gives a usage error instead of a failed start inside the child.
constexpr unsigned kMaxRssIntervalMs = 60000;

// The command line cut in two: the options of `memray run`, and the program with its
// arguments. Boost.Program_options cannot stop at the first positional argument by itself,
// so the cut is made here, asking `options` which of them consume the next argument.
struct SplitCommandLine
{
    std::vector<std::string> runOptions;
    std::optional<TargetKind> kind;
    std::string target;
    std::vector<std::string> programArguments;
};

SplitCommandLine splitCommandLine(int argc, char** argv, const po::options_description& options)
{
    auto takesValue = [&](const std::string& name) {
        const po::option_description* option = options.find_nothrow(name, false);
        return option != nullptr && option->semantic()->max_tokens() > 0;
    };

    SplitCommandLine split;
    auto takeProgram = [&](TargetKind kind, std::string target, int next) {
        split.kind = kind;
        split.target = std::move(target);
        split.programArguments.assign(argv + std::min(next, argc), argv + argc);
    };

    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--") {
            if (i + 1 < argc) {
                takeProgram(TargetKind::Script, argv[i + 1], i + 2);
            }
            return split;
        }
        if (arg.size() < 2 || arg[0] != '-') {
            takeProgram(TargetKind::Script, arg, i + 1);
            return split;
        }
        split.runOptions.push_back(arg);
        if (arg.starts_with("--")) {
            if (arg.find('=') == std::string::npos && takesValue(arg.substr(2)) && i + 1 < argc) {
                split.runOptions.push_back(argv[++i]);
            }
            continue;
        }
        // Short options, possibly bundled: -fq, -oFILE, -qo FILE, -qm MODULE, -cCODE.
        for (size_t j = 1; j < arg.size(); ++j) {
            const char letter = arg[j];
            if (letter == 'm' || letter == 'c') {
                split.runOptions.back().resize(j);
                if (j == 1) {
                    split.runOptions.pop_back();
                }
                const TargetKind kind = letter == 'm' ? TargetKind::Module : TargetKind::Code;
                if (j + 1 < arg.size()) {
                    takeProgram(kind, arg.substr(j + 1), i + 1);
                } else if (i + 1 < argc) {
                    takeProgram(kind, argv[i + 1], i + 2);
                } else {
                    throw UsageError(letter == 'm' ? "option -m needs a module name"
                                                   : "option -c needs the program text");
                }
                return split;
            }
            if (takesValue(std::string("-") + letter)) {
                if (j + 1 == arg.size() && i + 1 < argc) {
                    split.runOptions.push_back(argv[++i]);
                }
                break;  // the rest of the bundle is the value
            }
        }
    }
    return split;
}

// Like the interpreter's and argparse's command lines, a repeated option is no error: the
// last occurrence wins (`-q -q`, or a wrapper script's `-o a` overridden by a later `-o b`).
void keepLastOccurrences(po::parsed_options& parsed)
{
    std::vector<po::option> kept;
    for (auto it = parsed.options.rbegin(); it != parsed.options.rend(); ++it) {
        const bool seen = std::any_of(kept.begin(), kept.end(), [&](const po::option& other) {
            return other.string_key == it->string_key;
        });
        if (!seen) {
            kept.push_back(*it);
        }
    }
    parsed.options.assign(kept.rbegin(), kept.rend());
}

unsigned parseRssInterval(const std::string& text)
{
    unsigned value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value == 0
        || value > kMaxRssIntervalMs) {
        throw UsageError("--rss-interval-ms takes a whole number of milliseconds from 1 to "
                         + std::to_string(kMaxRssIntervalMs) + ", not '" + text + "'");
    }
    return value;
}

// What memray refuses with live mode, in its words.
void checkLiveOptions(const RunOptions& options)
{
    if (options.livePort && !options.liveRemote) {
        throw UsageError("The --live-port argument requires --live-remote");
    }
    if (options.live && options.liveRemote) {
        throw UsageError("argument --live-remote: not allowed with argument --live");
    }
    if (!options.live && !options.liveRemote) {
        return;
    }
    const char* live = options.live ? "--live" : "--live-remote";
    if (options.output) {
        throw UsageError(std::string("argument ") + live + ": not allowed with argument -o/--output");
    }
    if (options.followFork) {
        throw UsageError("--follow-fork cannot be used with the live TUI");
    }
    if (options.aggregate) {
        throw UsageError("--aggregate cannot be used with the live TUI");
    }
}

void printHelp(const po::options_description& options)
{
    std::cout << kUsage << "\n\n"
              << "Runs a Python program with its memory allocations tracked, and writes them to\n"
                 "a capture file for `memray stats`, `memray parse` and the other reports.\n"
                 "Options end at the program: whatever follows SCRIPT, MODULE or CODE is passed\n"
                 "to the program untouched, as the interpreter itself would.\n\n"
                 "Program:\n"
                 "  SCRIPT                a Python file, or a directory or zip file holding a\n"
                 "                        __main__.py (as `python SCRIPT`)\n"
                 "  -m MODULE             a module found on sys.path (as `python -m MODULE`)\n"
                 "  -c CODE               program text (as `python -c CODE`)\n\n"
              << options << "\n"
              << "Exit status: the program's own; if it is killed by a signal, memray dies of\n"
                 "the same signal.\n\n"
                 "Environment:\n"
                 "  MEMRAY_PAYLOAD=PATH   development only: load this payload library instead of\n"
                 "                        the one installed with memray\n"
                 "  MEMRAY_AGGREGATE_VERIFY=1\n"
                 "                        with --aggregate: write every allocation as well, so that\n"
                 "                        both analyses of one run can be compared\n";
}

}  // namespace

const char* runUsageLine()
{
    return kUsage;
}

std::optional<RunOptions> parseRunOptions(int argc, char** argv)
{
    RunOptions options;
    bool help = false;
    std::string output;
    std::string rssInterval;  // checked by hand: lexical_cast<unsigned> accepts "-1"
    std::string livePort;

    po::options_description described("Options");
    described.add_options()
        ("help,h", po::bool_switch(&help), "show this help and exit")
        ("output,o", po::value(&output)->value_name("FILE"),
         "capture file (default: memray-NAME.PID.bin, next to SCRIPT, or in the current "
         "directory for -m and -c)")
        ("force,f", po::bool_switch(&options.force), "overwrite FILE if it exists")
        ("quiet,q", po::bool_switch(&options.quiet),
         "print nothing but errors (no progress or next-step messages)")
        ("python", po::value(&options.python)->value_name("INTERPRETER"),
         "the CPython 3.7-3.13 interpreter to run (default: python3 found in PATH)")
        ("trace-python-allocators", po::bool_switch(&options.tracePythonAllocators),
         "also record allocations served by Python's own pymalloc allocator")
        ("follow-fork", po::bool_switch(&options.followFork),
         "keep tracking in forked children; each writes FILE.CHILDPID")
        ("native", po::bool_switch(&options.native), "record native (C/C++) stacks too")
        ("aggregate", po::bool_switch(&options.aggregate),
         "keep per-location totals in the tracked process and write them as periodic "
         "checkpoints instead of every allocation: a much smaller file, for the peak and "
         "leaks reports only")
        ("rss-interval-ms", po::value(&rssInterval)->value_name("N"),
         "sample the resident set size every N milliseconds (default: 10)")
        ("live", po::bool_switch(&options.live),
         "show the live view of the program's heap in this terminal instead of writing a "
         "capture file (the program's output goes to a file, named when the view quits; "
         "quitting the view ends the program)")
        ("live-remote", po::bool_switch(&options.liveRemote),
         "serve the live capture stream on 127.0.0.1 for `memray live PORT` in another "
         "shell (viewers may come and go). Any local user can connect to that port and "
         "read the program's stacks and file names")
        ("live-port,p", po::value(&livePort)->value_name("PORT"),
         "with --live-remote: the port to serve on (default: any free port)");

    SplitCommandLine split = splitCommandLine(argc, argv, described);

    po::variables_map values;
    try {
        const int style = po::command_line_style::unix_style
                          & ~po::command_line_style::allow_guessing;
        po::parsed_options parsed = po::command_line_parser(split.runOptions)
                                        .options(described)
                                        .style(style)
                                        .run();
        keepLastOccurrences(parsed);
        po::store(parsed, values);
        po::notify(values);
    } catch (const po::error& error) {
        throw UsageError(error.what());
    }

    if (help) {
        printHelp(described);
        return std::nullopt;
    }
    if (!split.kind) {
        throw UsageError("no program to run: give SCRIPT, -m MODULE or -c CODE");
    }
    if (split.target.empty()) {
        throw UsageError(split.kind == TargetKind::Module ? "the module name is empty"
                                                          : "the program to run is empty");
    }
    if (values.count("output")) {
        if (output.empty()) {
            throw UsageError("the output file name is empty");
        }
        options.output = output;
    }
    if (values.count("live-port")) {
        options.livePort = livePort;
    }
    checkLiveOptions(options);
    if (options.python.empty()) {
        throw UsageError("the --python interpreter name is empty");
    }
    if (values.count("rss-interval-ms")) {
        options.rssIntervalMs = parseRssInterval(rssInterval);
    }
    options.kind = *split.kind;
    options.target = std::move(split.target);
    options.programArguments = std::move(split.programArguments);
    return options;
}

}  // namespace memray::cli
