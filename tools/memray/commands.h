// The `memray` command's subcommands. Each takes the arguments after its name (argv[0] is the
// subcommand name) and returns the process exit status: 0 success, 1 failure, 2 usage error.
#pragma once

namespace memray::cli {

int runCommand(int argc, char** argv);    // memray run
int parseCommand(int argc, char** argv);  // memray parse
int statsCommand(int argc, char** argv);  // memray stats
int attachCommand(int argc, char** argv);  // memray attach
int detachCommand(int argc, char** argv);  // memray detach
int flamegraphCommand(int argc, char** argv);  // memray flamegraph
int tableCommand(int argc, char** argv);       // memray table
int treeCommand(int argc, char** argv);     // memray tree
int summaryCommand(int argc, char** argv);  // memray summary
int transformCommand(int argc, char** argv);  // memray transform

}  // namespace memray::cli
