// Thread probe: the client of probe_echo_server, a thread per connection.
// Every thread connects to 127.0.0.1:PORT and checks the echo of a short
// line; once all CONNECTIONS are open the client prints "all N connections
// open" and waits for its standard input to close (the harness counts the
// threads of both processes meanwhile); then every thread checks the echo of
// 20 KB and closes. Prints counts only; exits 0 when all were right.
//   probe_echo_client PORT CONNECTIONS
#include "probe_threads.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

enum { kBig = 20000 };

static int s_port;
static pthread_barrier_t s_all_open;
static pthread_mutex_t s_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_go_cond = PTHREAD_COND_INITIALIZER;
static int s_go;
static int s_connected, s_first_ok, s_second_ok;

static int send_all(int fd, const char* p, size_t n) {
    while (n > 0) {
        const ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int recv_all(int fd, char* p, size_t n) {
    while (n > 0) {
        const ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

// Sends `n` bytes of `out` and checks that the same come back.
static int echoes(int fd, const char* out, size_t n) {
    char* back = malloc(n);
    const int ok = back && send_all(fd, out, n) == 0 && recv_all(fd, back, n) == 0 && memcmp(out, back, n) == 0;
    free(back);
    return ok;
}

static void* connection(void* p) {
    const int id = (int)(long)p;
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)s_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int connected = fd >= 0 && connect(fd, (struct sockaddr*)&a, sizeof a) == 0;
    char line[64];
    const int n = snprintf(line, sizeof line, "hello from connection %d\n", id);
    const int first = connected && echoes(fd, line, (size_t)n);
    pthread_mutex_lock(&s_m);
    s_connected += connected;
    s_first_ok += first;
    pthread_mutex_unlock(&s_m);
    pthread_barrier_wait(&s_all_open);
    pthread_mutex_lock(&s_m);
    while (!s_go) pthread_cond_wait(&s_go_cond, &s_m);
    pthread_mutex_unlock(&s_m);
    char* big = malloc(kBig);
    for (int i = 0; i < kBig; ++i) big[i] = (char)('a' + (i + id) % 26);
    const int second = connected && echoes(fd, big, kBig);
    free(big);
    if (fd >= 0) close(fd);
    pthread_mutex_lock(&s_m);
    s_second_ok += second;
    pthread_mutex_unlock(&s_m);
    return NULL;
}

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: probe_echo_client PORT CONNECTIONS\n");
        return 2;
    }
    watchdog(60);
    signal(SIGPIPE, SIG_IGN);
    s_port = atoi(argv[1]);
    const int n = atoi(argv[2]);
    pthread_t* t = calloc((size_t)n, sizeof *t);
    pthread_barrier_init(&s_all_open, NULL, (unsigned)n + 1);
    int created = 0;
    for (int i = 0; i < n; ++i) created += pthread_create(&t[i], NULL, connection, (void*)(long)i) == 0;
    check_int("threads created", created, n);
    if (created != n) return finish();
    pthread_barrier_wait(&s_all_open);
    check_int("connections open", s_connected, n);
    check_int("first echoes right", s_first_ok, n);
    printf("all %d connections open\n", n);
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0) {
    }
    pthread_mutex_lock(&s_m);
    s_go = 1;
    pthread_cond_broadcast(&s_go_cond);
    pthread_mutex_unlock(&s_m);
    for (int i = 0; i < n; ++i) join(t[i]);
    check_int("20 KB echoes right", s_second_ok, n);
    free(t);
    return finish();
}
