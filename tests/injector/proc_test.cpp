// /proc parsing (memray/injector/proc.h): fixed texts for the formats, and this process for the
// readers.
#include "memray/injector/proc.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <unistd.h>

namespace memray::injector {
namespace {

TEST(ProcStatus, ParsesTheFieldsTheInjectorUses)
{
    const char* text =
            "Name:\tpython3.12\n"
            "Umask:\t0022\n"
            "State:\tS (sleeping)\n"
            "Tgid:\t4242\n"
            "Ngid:\t0\n"
            "Pid:\t4242\n"
            "PPid:\t17\n"
            "TracerPid:\t99\n"
            "Uid:\t1000\t1001\t1002\t1003\n"
            "Gid:\t2000\t2001\t2002\t2003\n"
            "FDSize:\t64\n"
            "Groups:\t4 24 27 \n"
            "CapInh:\t0000000000000000\n"
            "CapEff:\t00000000a80c25fb\n";
    ProcessStatus status = parseProcessStatus(text);
    EXPECT_EQ(status.name, "python3.12");
    EXPECT_EQ(status.state, 'S');
    EXPECT_EQ(status.tgid, 4242);
    EXPECT_EQ(status.ppid, 17);
    EXPECT_EQ(status.tracer_pid, 99);
    EXPECT_EQ(status.uid[0], 1000u);
    EXPECT_EQ(status.uid[1], 1001u);
    EXPECT_EQ(status.uid[3], 1003u);
    EXPECT_EQ(status.gid[2], 2002u);
    EXPECT_EQ(status.groups, (std::vector<gid_t>{4, 24, 27}));
    EXPECT_EQ(status.cap_effective, 0xa80c25fbull);
    EXPECT_TRUE((status.cap_effective >> 19) & 1);  // CAP_SYS_PTRACE is in that mask
}

TEST(ProcStatus, StoppedAndZombieStates)
{
    EXPECT_EQ(parseProcessStatus("State:\tT (stopped)\n").state, 'T');
    EXPECT_EQ(parseProcessStatus("State:\tt (tracing stop)\n").state, 't');
    EXPECT_EQ(parseProcessStatus("State:\tZ (zombie)\n").state, 'Z');
    EXPECT_EQ(parseProcessStatus("").state, '?');
}

TEST(ProcStatus, ReadsThisProcess)
{
    auto status = readProcessStatus(getpid());
    ASSERT_TRUE(status);
    EXPECT_EQ(status->tgid, getpid());
    EXPECT_EQ(status->uid[0], getuid());
    EXPECT_EQ(status->tracer_pid, 0);
    EXPECT_FALSE(readProcessStatus(0x3ffffff0));  // no such process
}

TEST(ProcStatus, AThreadIdIsNotAProcess)
{
    std::atomic<pid_t> tid{0};
    std::atomic<bool> done{false};
    std::thread thread([&] {
        tid = gettid();
        while (!done) {
            std::this_thread::yield();
        }
    });
    while (tid == 0) {
        std::this_thread::yield();
    }
    EXPECT_FALSE(readProcessStatus(tid));             // /proc/TID exists, but it is no process
    EXPECT_TRUE(readProcessStatus(getpid(), tid));    // as a thread of ours it is fine
    auto threads = listThreads(getpid());
    ASSERT_GE(threads.size(), 2u);
    EXPECT_EQ(threads.front(), getpid());             // the main thread first
    EXPECT_NE(std::find(threads.begin(), threads.end(), tid.load()), threads.end());
    done = true;
    thread.join();
}

TEST(ProcMaps, ParsesPathsDeletedFilesAndAnonymousMappings)
{
    const char* text =
            "55d0c0a00000-55d0c0a01000 r--p 00000000 fd:01 1234                       /usr/bin/python3.11\n"
            "7f0000000000-7f0000021000 r-xp 00021000 08:02 99      /opt/my dir/libpython3.12.so.1.0\n"
            "7f1000000000-7f1000001000 r-xp 00000000 00:1f 77                         /usr/lib/libc.so.6 (deleted)\n"
            "7f2000000000-7f2000004000 rw-p 00000000 00:00 0 \n"
            "7ffd0000000-7ffd0021000 rw-p 00000000 00:00 0                          [stack]\n"
            "garbage line\n";
    auto maps = parseMaps(text);
    ASSERT_EQ(maps.size(), 5u);
    EXPECT_EQ(maps[0].start, 0x55d0c0a00000u);
    EXPECT_EQ(maps[0].end, 0x55d0c0a01000u);
    EXPECT_EQ(maps[0].perms, "r--p");
    EXPECT_EQ(maps[0].dev_major, 0xfdu);
    EXPECT_EQ(maps[0].inode, 1234u);
    EXPECT_EQ(maps[0].path, "/usr/bin/python3.11");
    EXPECT_FALSE(maps[0].executable());
    EXPECT_EQ(maps[1].offset, 0x21000u);
    EXPECT_EQ(maps[1].path, "/opt/my dir/libpython3.12.so.1.0");
    EXPECT_TRUE(maps[1].executable());
    EXPECT_TRUE(maps[2].deleted);
    EXPECT_EQ(maps[2].path, "/usr/lib/libc.so.6");
    EXPECT_EQ(maps[3].path, "");
    EXPECT_EQ(maps[4].path, "[stack]");
}

TEST(ProcMaps, ReadsThisProcess)
{
    auto maps = readMaps(getpid());
    ASSERT_FALSE(maps.empty());
    auto here = reinterpret_cast<uint64_t>(&parseMaps);
    bool found = std::any_of(maps.begin(), maps.end(), [&](const MapEntry& m) {
        return m.start <= here && here < m.end && m.executable();
    });
    EXPECT_TRUE(found);
}

TEST(ThreadSyscall, ParsesTheThreeForms)
{
    EXPECT_EQ(parseThreadSyscall("running\n").state, ThreadSyscall::State::Running);
    EXPECT_EQ(parseThreadSyscall("-1 0x7ffc 0x7f12\n").state, ThreadSyscall::State::InUserMode);
    ThreadSyscall sleeping = parseThreadSyscall("230 0x1 0x0 0x7ffd 0x7ffd 0x0 0x0 0x7ffd 0x7f12\n");
    EXPECT_EQ(sleeping.state, ThreadSyscall::State::InSyscall);
    EXPECT_EQ(sleeping.number, 230);
    EXPECT_EQ(parseThreadSyscall("").state, ThreadSyscall::State::Unknown);
}

}  // namespace
}  // namespace memray::injector
