// Runs a command in a private network and mount namespace where glibc's own
// resolver can be used safely: only the loopback interface exists (brought up),
// /etc/hosts and /etc/resolv.conf are bind-mounted test files, and a dnsmasq
// serving the test zone listens on 127.0.0.1:53. Nothing can leave the machine.
//
//   netns_run HOSTS RESOLV_CONF DNSMASQ_CONF -- PROGRAM ARGS...
//
// NETNS_LO_ADDRESSES="192.0.2.2/24 fd00::2/64" adds those addresses to lo (with
// iproute2's ip), so that the namespace looks like a host with IPv4 and IPv6
// addresses (AI_ADDRCONFIG, address sorting) while still having only loopback.
//
// Stdout and stderr are PROGRAM's; the exit status is PROGRAM's (128 + signal
// when a signal ended it). Exit status 77 (with a line on stderr) means the
// namespace could not be made here: the caller skips.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { kSkip = 77 };

static void skip(const char* what) {
    fprintf(stderr, "netns_run: cannot %s: %s (a private network namespace is not available here)\n", what,
            strerror(errno));
    exit(kSkip);
}

static void fail(const char* what) {
    fprintf(stderr, "netns_run: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void loopback_up(void) {
    const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) skip("open a socket in the new namespace");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) skip("read the flags of lo");
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) skip("bring lo up");
    close(s);
}

// Refuses to go on if anything but loopback addresses is configured: then a
// lookup could reach a real network.
static void only_loopback(void) {
    struct ifaddrs* list = NULL;
    if (getifaddrs(&list) != 0) fail("getifaddrs");
    for (struct ifaddrs* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr) continue;
        if (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6) continue;
        if (!(i->ifa_flags & IFF_LOOPBACK)) {
            fprintf(stderr, "netns_run: interface %s is not loopback; refusing to run\n", i->ifa_name);
            exit(1);
        }
    }
    freeifaddrs(list);
}

static void add_lo_addresses(const char* list) {
    static const char* const ips[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};
    const char* ip = NULL;
    for (size_t i = 0; i < sizeof ips / sizeof *ips && !ip; ++i)
        if (access(ips[i], X_OK) == 0) ip = ips[i];
    if (!ip) {
        fprintf(stderr, "netns_run: NETNS_LO_ADDRESSES needs iproute2's ip (tools/setup installs it)\n");
        exit(1);
    }
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", list);
    for (char* save = NULL, *a = strtok_r(copy, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
        const pid_t pid = fork();
        if (pid == 0) {
            execl(ip, ip, "addr", "add", a, "dev", "lo", (char*)NULL);
            _exit(127);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "netns_run: ip addr add %s dev lo failed\n", a);
            exit(1);
        }
    }
}

static void bind_file(const char* from, const char* to) {
    if (mount(from, to, NULL, MS_BIND, NULL) != 0) {
        fprintf(stderr, "netns_run: bind-mount %s on %s: %s\n", from, to, strerror(errno));
        exit(kSkip);
    }
}

static int tcp_port_open(int port) {
    const int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int up = connect(s, (struct sockaddr*)&a, sizeof a) == 0;
    close(s);
    return up;
}

static pid_t start(char* const argv[], int quiet) {
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) fail("fork");
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives us
        if (getppid() != parent) _exit(127);
        if (quiet) {
            const int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            dup2(null, 2);
        }
        execv(argv[0], argv);
        fprintf(stderr, "netns_run: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

int main(int argc, char** argv) {
    if (argc < 6 || strcmp(argv[4], "--") != 0) {
        fprintf(stderr, "usage: netns_run HOSTS RESOLV_CONF DNSMASQ_CONF -- PROGRAM ARGS...\n");
        return 2;
    }
    const char *hosts = argv[1], *resolv = argv[2], *conf = argv[3];
    if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) skip("unshare(CLONE_NEWNET | CLONE_NEWNS)");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) skip("make / private in the new mount namespace");
    loopback_up();
    if (getenv("NETNS_LO_ADDRESSES")) add_lo_addresses(getenv("NETNS_LO_ADDRESSES"));
    only_loopback();
    bind_file(hosts, "/etc/hosts");
    bind_file(resolv, "/etc/resolv.conf");

    char conf_arg[4096];
    snprintf(conf_arg, sizeof conf_arg, "--conf-file=%s", conf);
    char* dnsmasq_argv[] = {"/usr/sbin/dnsmasq", "--keep-in-foreground", conf_arg, "--no-resolv", "--no-hosts",
                            "--no-poll", "--bind-interfaces", "--listen-address=127.0.0.1", "--port=53",
                            "--pid-file=", "--log-facility=/dev/null", "--user=root", NULL};
    const pid_t dns = start(dnsmasq_argv, 0);
    const struct timespec step = {0, 10 * 1000 * 1000};
    int up = 0;
    for (int i = 0; i < 500 && !up; ++i) {
        if (waitpid(dns, NULL, WNOHANG) == dns) {
            fprintf(stderr, "netns_run: dnsmasq exited\n");
            return 1;
        }
        up = tcp_port_open(53);
        if (!up) nanosleep(&step, NULL);
    }
    if (!up) {
        fprintf(stderr, "netns_run: dnsmasq does not answer on 127.0.0.1:53\n");
        kill(dns, SIGKILL);
        waitpid(dns, NULL, 0);
        return 1;
    }

    const pid_t child = start(argv + 5, 0);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    kill(dns, SIGTERM);
    waitpid(dns, NULL, 0);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}
