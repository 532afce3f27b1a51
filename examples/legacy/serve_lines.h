/* What both legacy servers do with a connection: each line the client sends
 * comes back upper-cased, until the client hangs up. Blocking read and write. */
#pragma once

#include <ctype.h>
#include <string.h>
#include <unistd.h>

static void serve_lines(int fd) {
    char line[1024];
    size_t used = 0;
    for (;;) {
        const ssize_t n = read(fd, line + used, sizeof line - used);
        if (n <= 0) return;
        used += (size_t)n;
        char* end;
        while ((end = memchr(line, '\n', used)) != NULL) {
            const size_t len = (size_t)(end - line) + 1;
            for (size_t i = 0; i < len; ++i) line[i] = (char)toupper((unsigned char)line[i]);
            if (write(fd, line, len) != (ssize_t)len) return;
            memmove(line, line + len, used - len);
            used -= len;
        }
        if (used == sizeof line) return; /* a line too long for us: hang up */
    }
}
