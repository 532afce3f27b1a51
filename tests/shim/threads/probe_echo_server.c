// Thread probe: a thread-per-connection TCP echo server in plain C, the kind
// of legacy program thread patching is for. It listens on 127.0.0.1:PORT
// (0: any free port), prints "port N" on the first line, accepts CONNECTIONS
// connections, each handled by a detached thread with blocking read and
// write until the peer closes, then prints what it served and exits 0.
//   probe_echo_server PORT CONNECTIONS
#include "probe_threads.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static pthread_mutex_t s_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_all_done = PTHREAD_COND_INITIALIZER;
static int s_finished, s_failed;
static long s_bytes;

static void* serve(void* p) {
    const int fd = (int)(long)p;
    char buf[4096];
    long echoed = 0;
    int failed = 0;
    for (;;) {
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            failed = 1;
            break;
        }
        for (ssize_t off = 0; off < n;) {
            const ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                failed = 1;
                break;
            }
            off += w;
        }
        if (failed) break;
        echoed += n;
    }
    close(fd);
    pthread_mutex_lock(&s_m);
    s_bytes += echoed;
    s_failed += failed;
    ++s_finished;
    pthread_cond_signal(&s_all_done);
    pthread_mutex_unlock(&s_m);
    return NULL;
}

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: probe_echo_server PORT CONNECTIONS\n");
        return 2;
    }
    watchdog(60);
    signal(SIGPIPE, SIG_IGN);
    const int connections = atoi(argv[2]);
    const int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) must(-1, "socket");
    const int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)atoi(argv[1]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    must(bind(listener, (struct sockaddr*)&a, sizeof a), "bind");
    must(listen(listener, 1024), "listen");
    socklen_t len = sizeof a;
    getsockname(listener, (struct sockaddr*)&a, &len);
    printf("port %d\n", ntohs(a.sin_port));
    fflush(stdout);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int accepted = 0, create_failed = 0;
    while (accepted < connections) {
        const int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) continue;
            must(-1, "accept");
        }
        ++accepted;
        pthread_t t;
        if (pthread_create(&t, &attr, serve, (void*)(long)fd) != 0) {
            ++create_failed;
            close(fd);
        }
    }
    pthread_attr_destroy(&attr);
    close(listener);
    pthread_mutex_lock(&s_m);
    while (s_finished + create_failed < connections) pthread_cond_wait(&s_all_done, &s_m);
    pthread_mutex_unlock(&s_m);
    check_int("connections accepted", accepted, connections);
    check_int("threads that could not be created", create_failed, 0);
    check_int("connections that failed", s_failed, 0);
    printf("bytes echoed: %ld\n", s_bytes);
    return finish();
}
