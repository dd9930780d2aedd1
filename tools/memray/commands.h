// The `memray` command's subcommands. Each takes the arguments after its name (argv[0] is the
// subcommand name) and returns the process exit status: 0 success, 1 failure, 2 usage error.
#pragma once

namespace memray::cli {

struct LiveViewHooks;

int runCommand(int argc, char** argv);    // memray run
int parseCommand(int argc, char** argv);  // memray parse
int statsCommand(int argc, char** argv);  // memray stats
int attachCommand(int argc, char** argv);  // memray attach
// The attach library's side of it (attach_module.h): `hooks` show the live view.
int attachCommand(int argc, char** argv, const LiveViewHooks& hooks);
int detachCommand(int argc, char** argv);  // memray detach
int flamegraphCommand(int argc, char** argv);  // memray flamegraph
int tableCommand(int argc, char** argv);       // memray table
int treeCommand(int argc, char** argv);     // memray tree
int summaryCommand(int argc, char** argv);  // memray summary
int liveCommand(int argc, char** argv);     // memray live
int transformCommand(int argc, char** argv);  // memray transform
// memray _serve-tracker: memray.Tracker's live-view helper (SocketDestination); not in --help.
int serveTrackerCommand(int argc, char** argv);

}  // namespace memray::cli
