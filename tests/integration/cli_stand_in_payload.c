/* TEST FIXTURE ONLY -- not a payload.
 *
 * A stand-in for libmemray_payload.so that test_run_cli.py loads through MEMRAY_PAYLOAD to
 * test the plumbing of `memray run` (argument splitting, the bootstrap, exit statuses and
 * signals) independently of the real payload. It exports the same C API (payload_api.h), is
 * entered by the bootstrap through the same extension-module shim (python_module.cpp), but
 * tracks nothing: memray_start() only creates the output file, the way the payload would
 * (O_EXCL unless force=1), and writes a marker line followed by the configuration text it was
 * given, so tests can check what the CLI asked for. Capture tests must use the real payload.
 *
 * MEMRAY_CLI_STAND_IN_FAIL=MESSAGE makes memray_start() fail with MESSAGE, to test how the
 * bootstrap reports a failed start.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

static char last_error[8192];
static int active;

/* Copies the value of `key` in the key=value lines of `config` into `out`. */
static int config_value(const char* config, const char* key, char* out, size_t size)
{
    size_t key_length = strlen(key);
    const char* line = config;
    while (line && *line) {
        const char* end = strchr(line, '\n');
        size_t length = end ? (size_t)(end - line) : strlen(line);
        if (length > key_length && strncmp(line, key, key_length) == 0 && line[key_length] == '=') {
            size_t value_length = length - key_length - 1;
            if (value_length >= size) {
                return 0;
            }
            memcpy(out, line + key_length + 1, value_length);
            out[value_length] = '\0';
            return 1;
        }
        line = end ? end + 1 : NULL;
    }
    return 0;
}

static int write_all(int fd, const char* data, size_t size)
{
    while (size > 0) {
        ssize_t written = write(fd, data, size);
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            return 0;
        }
        data += written;
        size -= (size_t)written;
    }
    return 1;
}

EXPORT int memray_start(const char* config)
{
    static const char marker[] = "MEMRAY CLI TEST STAND-IN (not a capture)\n";
    char output[4096];
    char force[8] = "0";
    const char* fail = getenv("MEMRAY_CLI_STAND_IN_FAIL");
    if (fail) {
        snprintf(last_error, sizeof last_error, "%s", fail);
        return 1;
    }
    if (active) {
        snprintf(last_error, sizeof last_error, "a capture is already active");
        return 1;
    }
    if (!config_value(config, "output", output, sizeof output)) {
        snprintf(last_error, sizeof last_error, "no output file given");
        return 1;
    }
    config_value(config, "force", force, sizeof force);
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (strcmp(force, "1") == 0 ? O_TRUNC : O_EXCL);
    int fd = open(output, flags, 0644);
    if (fd < 0) {
        snprintf(last_error, sizeof last_error, "cannot create %s: %s", output, strerror(errno));
        return 1;
    }
    int ok = write_all(fd, marker, sizeof marker - 1) && write_all(fd, config, strlen(config));
    close(fd);
    if (!ok) {
        snprintf(last_error, sizeof last_error, "cannot write %s", output);
        return 1;
    }
    active = 1;
    return 0;
}

EXPORT int memray_stop(void)
{
    if (!active) {
        snprintf(last_error, sizeof last_error, "no capture is active");
        return 1;
    }
    active = 0;
    return 0;
}

EXPORT int memray_is_active(void)
{
    return active;
}

EXPORT const char* memray_last_error(void)
{
    return last_error;
}

EXPORT const char* memray_last_summary(void)
{
    return "stand-in: nothing was captured";
}
