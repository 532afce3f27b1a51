// A "real program" for the shim tests: the resolver entry points, printing every
// result field so that glibc's answers and green's can be compared line by line.
//
//   probe_dns matrix            getaddrinfo, getnameinfo, gethostbyname(2)(_r),
//                               gethostbyaddr(_r), res_query / res_search over a
//                               fixed matrix of cases; one line per case, each
//                               starting with "[label]"
//   probe_dns lookup NAME...    getaddrinfo(NAME, "80", stream) and gethostbyname
//   probe_dns closerange NAME...  the same before and after close_range(3, ~0U, 0)
//   probe_dns closefrom NAME...   the same before and after closefrom(3)
//   probe_dns fork NAME...      the same in the parent, then in a forked child,
//                               then in the parent again
//
// The test zone (tests/shim/programs_test.cpp writes it) is test.green.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"

static const char* str(const char* s) { return s ? s : "(null)"; }

static const char* family_name(int f) {
    switch (f) {
    case AF_UNSPEC: return "UNSPEC";
    case AF_INET: return "INET";
    case AF_INET6: return "INET6";
    case AF_UNIX: return "UNIX";
    default: return "?";
    }
}

static const char* eai_name(int e) {
    switch (e) {
    case 0: return "0";
    case EAI_BADFLAGS: return "EAI_BADFLAGS";
    case EAI_NONAME: return "EAI_NONAME";
    case EAI_AGAIN: return "EAI_AGAIN";
    case EAI_FAIL: return "EAI_FAIL";
    case EAI_FAMILY: return "EAI_FAMILY";
    case EAI_SOCKTYPE: return "EAI_SOCKTYPE";
    case EAI_SERVICE: return "EAI_SERVICE";
    case EAI_MEMORY: return "EAI_MEMORY";
    case EAI_SYSTEM: return "EAI_SYSTEM";
    case EAI_OVERFLOW: return "EAI_OVERFLOW";
    case EAI_NODATA: return "EAI_NODATA";
    case EAI_ADDRFAMILY: return "EAI_ADDRFAMILY";
    default: return "EAI_?";
    }
}

static const char* herr_name(int h) {
    switch (h) {
    case 0: return "0";
    case NETDB_INTERNAL: return "NETDB_INTERNAL";
    case HOST_NOT_FOUND: return "HOST_NOT_FOUND";
    case TRY_AGAIN: return "TRY_AGAIN";
    case NO_RECOVERY: return "NO_RECOVERY";
    case NO_DATA: return "NO_DATA";
    default: return "h_errno?";
    }
}

// "addr port" of a sockaddr, numerically.
static void sockaddr_text(const struct sockaddr* sa, char* out, size_t len) {
    char a[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in* in = (const struct sockaddr_in*)sa;
        inet_ntop(AF_INET, &in->sin_addr, a, sizeof a);
        snprintf(out, len, "%s port %u", a, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6* in6 = (const struct sockaddr_in6*)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof a);
        snprintf(out, len, "%s port %u scope %u flow %u", a, ntohs(in6->sin6_port), in6->sin6_scope_id,
                 in6->sin6_flowinfo);
    } else {
        snprintf(out, len, "family %d", sa->sa_family);
    }
}

// One getaddrinfo call, printed on one line.
static void gai(const char* label, const char* node, const char* service, const struct addrinfo* hints) {
    struct addrinfo* res = NULL;
    errno = 0;
    const int rc = getaddrinfo(node, service, hints, &res);
    printf("[%s] gai(%s, %s", label, str(node), str(service));
    if (hints)
        printf(", fam=%s sock=%d proto=%d flags=%#x)", family_name(hints->ai_family), hints->ai_socktype,
               hints->ai_protocol, (unsigned)hints->ai_flags);
    else
        printf(", NULL)");
    printf(" = %s", eai_name(rc));
    if (rc != 0) {
        printf(" \"%s\"", gai_strerror(rc));
        if (rc == EAI_SYSTEM) printf(" errno %s", en(errno));
    }
    for (const struct addrinfo* ai = res; ai; ai = ai->ai_next) {
        char a[128];
        sockaddr_text(ai->ai_addr, a, sizeof a);
        printf(" | %s sock=%d proto=%d len=%u flags=%#x %s", family_name(ai->ai_family), ai->ai_socktype,
               ai->ai_protocol, (unsigned)ai->ai_addrlen, (unsigned)ai->ai_flags, a);
        if (ai->ai_canonname) printf(" canon=%s", ai->ai_canonname);
    }
    printf("\n");
    if (rc == 0) freeaddrinfo(res);
}

static void print_hostent(const struct hostent* h) {
    printf(" name=%s type=%s len=%d aliases=[", str(h->h_name), family_name(h->h_addrtype), h->h_length);
    for (char** a = h->h_aliases; a && *a; ++a) printf("%s%s", a == h->h_aliases ? "" : ",", *a);
    printf("] addrs=[");
    for (char** a = h->h_addr_list; a && *a; ++a) {
        char t[INET6_ADDRSTRLEN] = "?";
        inet_ntop(h->h_addrtype, *a, t, sizeof t);
        printf("%s%s", a == h->h_addr_list ? "" : ",", t);
    }
    printf("]");
}

static void ghbn(const char* label, const char* name, int af) {
    h_errno = 12345;
    const struct hostent* h = af == 0 ? gethostbyname(name) : gethostbyname2(name, af);
    if (af == 0)
        printf("[%s] gethostbyname(%s) =", label, str(name));
    else
        printf("[%s] gethostbyname2(%s, %s) =", label, str(name), family_name(af));
    if (h)
        print_hostent(h);
    else
        printf(" NULL h_errno=%s", herr_name(h_errno));
    printf("\n");
}

static void ghbn_r(const char* label, const char* name, int af, size_t buflen) {
    struct hostent ret, *result = (struct hostent*)1;
    char* buf = malloc(buflen ? buflen : 1);
    int herr = 12345;
    const int rc = af == 0 ? gethostbyname_r(name, &ret, buf, buflen, &result, &herr)
                           : gethostbyname2_r(name, af, &ret, buf, buflen, &result, &herr);
    // *h_errnop is only meaningful when there is no result.
    printf("[%s] gethostbyname%s_r(%s, %s, buflen %zu) = %s result=%s", label, af ? "2" : "", str(name),
           family_name(af), buflen, rc ? en(rc) : "0", result == NULL ? "NULL" : result == &ret ? "ret" : "?");
    if (result == NULL) printf(" h_errno=%s", herr_name(herr));
    if (rc == 0 && result == &ret) print_hostent(&ret);
    printf("\n");
    free(buf);
}

// gethostbyname_r with `buflen` bytes starting `offset` bytes into an allocation.
static void ghbn_r_at(const char* label, const char* name, size_t buflen, size_t offset) {
    struct hostent ret, *result = (struct hostent*)1;
    char* block = malloc(buflen + offset + 1);
    int herr = 12345;
    const int rc = gethostbyname_r(name, &ret, block + offset, buflen, &result, &herr);
    printf("[%s] gethostbyname_r(%s, buflen %zu, offset %zu) = %s result=%s", label, str(name), buflen, offset,
           rc ? en(rc) : "0", result == NULL ? "NULL" : result == &ret ? "ret" : "?");
    if (result == NULL) printf(" h_errno=%s", herr_name(herr));
    if (rc == 0 && result == &ret) print_hostent(&ret);
    printf("\n");
    free(block);
}

// gethostbyaddr_r of `len` bytes of `text` (an address of `addr_af`) asked as `af`, with `buflen` bytes.
static void ghba_r(const char* label, int addr_af, const char* text, socklen_t len, int af, size_t buflen) {
    unsigned char addr[16] = {0};
    inet_pton(addr_af, text, addr);
    struct hostent ret, *result = (struct hostent*)1;
    char* buf = malloc(buflen ? buflen : 1);
    int herr = 12345;
    const int rc = gethostbyaddr_r(addr, len, af, &ret, buf, buflen, &result, &herr);
    printf("[%s] gethostbyaddr_r(%s, len %u, %s, buflen %zu) = %s result=%s", label, text, (unsigned)len,
           family_name(af), buflen, rc ? en(rc) : "0", result == NULL ? "NULL" : result == &ret ? "ret" : "?");
    if (result == NULL) printf(" h_errno=%s", herr_name(herr));
    if (rc == 0 && result == &ret) print_hostent(&ret);
    printf("\n");
    free(buf);
}

static void ghba(const char* label, int af, const char* text, socklen_t len_override) {
    unsigned char addr[16];
    inet_pton(af, text, addr);
    const socklen_t len = len_override ? len_override : (af == AF_INET ? 4 : 16);
    h_errno = 12345;
    const struct hostent* h = gethostbyaddr(addr, len, af);
    printf("[%s] gethostbyaddr(%s, len %u) =", label, text, (unsigned)len);
    if (h)
        print_hostent(h);
    else
        printf(" NULL h_errno=%s", herr_name(h_errno));
    printf("\n");
    struct hostent ret, *result = (struct hostent*)1;
    char buf[4096];
    int herr = 12345;
    const int rc = gethostbyaddr_r(addr, len, af, &ret, buf, sizeof buf, &result, &herr);
    printf("[%s-r] gethostbyaddr_r(%s, len %u) = %s result=%s", label, text, (unsigned)len, rc ? en(rc) : "0",
           result == NULL ? "NULL" : result == &ret ? "ret" : "?");
    if (result == NULL) printf(" h_errno=%s", herr_name(herr));
    if (rc == 0 && result == &ret) print_hostent(&ret);
    printf("\n");
}

static void gni(const char* label, int af, const char* text, unsigned port, unsigned scope, int flags,
                socklen_t hostlen, socklen_t servlen) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t salen;
    if (af == AF_INET) {
        struct sockaddr_in* in = (struct sockaddr_in*)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((unsigned short)port);
        inet_pton(AF_INET, text, &in->sin_addr);
        salen = sizeof *in;
    } else {
        struct sockaddr_in6* in6 = (struct sockaddr_in6*)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((unsigned short)port);
        in6->sin6_scope_id = scope;
        inet_pton(AF_INET6, text, &in6->sin6_addr);
        salen = sizeof *in6;
    }
    char host[NI_MAXHOST] = "unset", serv[NI_MAXSERV] = "unset";
    const int rc = getnameinfo((struct sockaddr*)&ss, salen, hostlen ? host : NULL, hostlen, servlen ? serv : NULL,
                               servlen, flags);
    printf("[%s] gni(%s port %u scope %u, flags %#x, hostlen %u, servlen %u) = %s", label, text, port, scope,
           (unsigned)flags, (unsigned)hostlen, (unsigned)servlen, eai_name(rc));
    if (rc == 0) printf(" host=%s serv=%s", hostlen ? host : "-", servlen ? serv : "-");
    printf("\n");
}

static int compare_strings(const void* a, const void* b) { return strcmp((const char*)a, (const char*)b); }

static void rq(const char* label, const char* name, int type, int search) {
    unsigned char answer[4096];
    h_errno = 12345;
    const int n = search ? res_search(name, C_IN, type, answer, sizeof answer)
                         : res_query(name, C_IN, type, answer, sizeof answer);
    printf("[%s] %s(%s, type %d) = %d", label, search ? "res_search" : "res_query", name, type, n >= 0 ? n : -1);
    if (n < 0) {
        printf(" h_errno=%s\n", herr_name(h_errno));
        return;
    }
    ns_msg msg;
    if (ns_initparse(answer, n, &msg) != 0) {
        printf(" unparsable\n");
        return;
    }
    printf(" rcode=%d answers=%d", ns_msg_getflag(msg, ns_f_rcode), ns_msg_count(msg, ns_s_an));
    // Printed sorted: dnsmasq changes the order of a name's records from one
    // lookup to the next, and glibc and green ask different things before.
    enum { kMaxRecords = 32 };
    char records[kMaxRecords][NS_MAXDNAME + 64];
    int count = 0;
    for (int i = 0; i < ns_msg_count(msg, ns_s_an) && count < kMaxRecords; ++i) {
        ns_rr rr;
        if (ns_parserr(&msg, ns_s_an, i, &rr) != 0) break;
        char t[INET6_ADDRSTRLEN] = "-";
        if (ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4) inet_ntop(AF_INET, ns_rr_rdata(rr), t, sizeof t);
        if (ns_rr_type(rr) == ns_t_aaaa && ns_rr_rdlen(rr) == 16) inet_ntop(AF_INET6, ns_rr_rdata(rr), t, sizeof t);
        snprintf(records[count++], sizeof records[0], "%s type %d %s", ns_rr_name(rr), ns_rr_type(rr), t);
    }
    qsort(records, (size_t)count, sizeof records[0], compare_strings);
    for (int i = 0; i < count; ++i) printf(" | %s", records[i]);
    printf("\n");
}

static struct addrinfo hint(int family, int socktype, int protocol, int flags) {
    struct addrinfo h;
    memset(&h, 0, sizeof h);
    h.ai_family = family;
    h.ai_socktype = socktype;
    h.ai_protocol = protocol;
    h.ai_flags = flags;
    return h;
}

static int matrix(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    char label[64];

    // Names x hints.
    static const char* const names[] = {
        "a4.test.green",       "a6.test.green",    "both.test.green",     "many.test.green",
        "chain1.test.green",   "chain6.test.green", "nx.test.green",      "txtonly.test.green",
        "hosts4.test.green",   "h4alias",          "hosts6.test.green",   "hostsboth.test.green",
        "dup.test.green",      "shadow.test.green", "localhost",          "ip6-localhost",
        "a4",                  "nx",               "A4.Test.Green",       "a4.test.green.",
        "127.0.0.1",           "::1",              "127.1",               "0x7f.1",
        "192.0.2.1",           "2001:db8::1",      "::ffff:127.0.0.1",    "fe80::1%lo",
        "fe80::1%1",           "1.2.3.4.5",        "spaced.test.green",   "hosts-doc.test.green",
        "dupalias",            "hbalias",          "",                    NULL,
    };
    struct {
        const char* name;
        struct addrinfo h;
        int use;
    } hints[] = {
        {"null", {0}, 0},
        {"unspec-stream", hint(AF_UNSPEC, SOCK_STREAM, 0, 0), 1},
        {"inet", hint(AF_INET, 0, 0, 0), 1},
        {"inet6", hint(AF_INET6, 0, 0, 0), 1},
        {"inet6-v4mapped", hint(AF_INET6, SOCK_STREAM, 0, AI_V4MAPPED), 1},
        {"inet6-v4mapped-all", hint(AF_INET6, SOCK_STREAM, 0, AI_V4MAPPED | AI_ALL), 1},
        {"canonname", hint(AF_UNSPEC, SOCK_STREAM, 0, AI_CANONNAME), 1},
        {"numerichost", hint(AF_UNSPEC, SOCK_STREAM, 0, AI_NUMERICHOST), 1},
        {"addrconfig", hint(AF_UNSPEC, SOCK_DGRAM, 0, AI_ADDRCONFIG), 1},
        {"inet-addrconfig", hint(AF_INET, SOCK_STREAM, 0, AI_ADDRCONFIG), 1},
        {"passive", hint(AF_UNSPEC, SOCK_STREAM, 0, AI_PASSIVE), 1},
    };
    const size_t n_names = sizeof names / sizeof *names, n_hints = sizeof hints / sizeof *hints;
    for (size_t i = 0; i < n_names; ++i)
        for (size_t j = 0; j < n_hints; ++j) {
            snprintf(label, sizeof label, "gai %s %s", str(names[i]), hints[j].name);
            gai(label, names[i], names[i] ? "80" : "http", hints[j].use ? &hints[j].h : NULL);
        }

    // Services x socket types x protocols, on a numeric and on a named host.
    static const char* const services[] = {NULL,    "80",  "http", "www", "domain", "echo", "exec",
                                           "biff",  "0",   "65535", "65536", "-1",  "80x", "no-such-service",
                                           " 80",   "0x50", ""};
    static const int socktypes[] = {0, SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET};
    static const int protocols[] = {0, IPPROTO_TCP, IPPROTO_UDP};
    for (size_t s = 0; s < sizeof services / sizeof *services; ++s)
        for (size_t t = 0; t < sizeof socktypes / sizeof *socktypes; ++t)
            for (size_t p = 0; p < sizeof protocols / sizeof *protocols; ++p) {
                struct addrinfo h = hint(AF_INET, socktypes[t], protocols[p], 0);
                snprintf(label, sizeof label, "svc %s sock %d proto %d", str(services[s]), socktypes[t],
                         protocols[p]);
                gai(label, "127.0.0.1", services[s], &h);
            }
    for (size_t s = 0; s < sizeof services / sizeof *services; ++s) {
        struct addrinfo h = hint(AF_UNSPEC, 0, 0, AI_NUMERICSERV);
        snprintf(label, sizeof label, "svc %s numericserv", str(services[s]));
        gai(label, "both.test.green", services[s], &h);
        h = hint(AF_UNSPEC, 0, 0, AI_PASSIVE);
        snprintf(label, sizeof label, "svc %s passive null node", str(services[s]));
        gai(label, NULL, services[s], &h);
    }

    // Bad arguments.
    struct addrinfo h;
    h = hint(AF_UNSPEC, 0, 0, 0x10000);
    gai("bad flags", "127.0.0.1", "80", &h);
    h = hint(AF_UNSPEC, 0, 0, AI_CANONNAME);
    gai("canonname null node", NULL, "80", &h);
    h = hint(12345, 0, 0, 0);
    gai("bad family", "127.0.0.1", "80", &h);
    h = hint(AF_UNIX, 0, 0, 0);
    gai("family unix", "127.0.0.1", "80", &h);
    h = hint(AF_UNSPEC, 999, 0, 0);
    gai("bad socktype", "127.0.0.1", "80", &h);
    h = hint(AF_UNSPEC, SOCK_STREAM, IPPROTO_UDP, 0);
    gai("stream with udp", "127.0.0.1", "80", &h);
    h = hint(AF_UNSPEC, SOCK_DGRAM, IPPROTO_TCP, 0);
    gai("dgram with tcp", "127.0.0.1", "80", &h);
    h = hint(AF_UNSPEC, SOCK_STREAM, IPPROTO_SCTP, 0);
    gai("stream with sctp", "127.0.0.1", "80", &h);
    h = hint(AF_UNSPEC, 0, 0, 0);
    gai("null null", NULL, NULL, &h);
    h = hint(AF_UNSPEC, SOCK_STREAM, 0, AI_NUMERICHOST | AI_CANONNAME);
    gai("numerichost canonname", "127.0.0.1", "80", &h);
    h = hint(AF_UNSPEC, SOCK_STREAM, 0, AI_CANONNAME);
    gai("canonname numeric", "127.0.0.1", "80", &h);
    gai("canonname hosts alias", "h4alias", "80", &h);
    gai("canonname chain", "chain1.test.green", "80", &h);
    gai("canonname search", "a4", "80", &h);
    h = hint(AF_INET, SOCK_STREAM, 0, AI_NUMERICSERV);
    gai("numericserv name", "127.0.0.1", "http", &h);
    h = hint(AF_INET6, SOCK_STREAM, 0, AI_V4MAPPED);
    gai("v4mapped numeric", "127.0.0.1", "80", &h);
    h = hint(AF_INET6, SOCK_STREAM, 0, AI_V4MAPPED | AI_ALL);
    gai("v4mapped all both", "both.test.green", "80", &h);
    gai("v4mapped all hosts", "hostsboth.test.green", "80", &h);

    // getnameinfo.
    static const struct {
        int af;
        const char* addr;
        unsigned port, scope;
    } sockaddrs[] = {
        {AF_INET, "127.0.0.1", 80, 0},       {AF_INET, "127.0.0.30", 22, 0},   {AF_INET, "192.0.2.10", 7, 0},
        {AF_INET, "192.0.2.99", 512, 0},     {AF_INET, "127.0.0.99", 53, 0},   {AF_INET, "0.0.0.0", 0, 0},
        {AF_INET6, "::1", 53, 0},            {AF_INET6, "2001:db8::10", 512, 0}, {AF_INET6, "2001:db8::99", 80, 0},
        {AF_INET6, "fd00::30", 80, 0},       {AF_INET6, "::ffff:127.0.0.1", 80, 0}, {AF_INET6, "::ffff:192.0.2.10", 80, 0},
        {AF_INET6, "fe80::1", 80, 1},        {AF_INET6, "fe80::1", 80, 77},    {AF_INET6, "::", 65535, 0},
        {AF_INET, "127.0.0.1", 65000, 0},
    };
    static const int ni_flags[] = {0,          NI_NUMERICHOST, NI_NUMERICSERV,
                                   NI_NAMEREQD, NI_DGRAM,       NI_NOFQDN,
                                   NI_NUMERICHOST | NI_NUMERICSERV | NI_DGRAM};
    for (size_t i = 0; i < sizeof sockaddrs / sizeof *sockaddrs; ++i)
        for (size_t f = 0; f < sizeof ni_flags / sizeof *ni_flags; ++f) {
            snprintf(label, sizeof label, "gni %s port %u scope %u flags %#x", sockaddrs[i].addr, sockaddrs[i].port,
                     sockaddrs[i].scope, ni_flags[f]);
            gni(label, sockaddrs[i].af, sockaddrs[i].addr, sockaddrs[i].port, sockaddrs[i].scope, ni_flags[f],
                NI_MAXHOST, NI_MAXSERV);
        }
    gni("gni host only", AF_INET, "127.0.0.1", 80, 0, 0, NI_MAXHOST, 0);
    gni("gni serv only", AF_INET, "127.0.0.1", 80, 0, 0, 0, NI_MAXSERV);
    gni("gni neither", AF_INET, "127.0.0.1", 80, 0, 0, 0, 0);
    gni("gni small host", AF_INET, "127.0.0.30", 80, 0, 0, 4, NI_MAXSERV);
    gni("gni small numeric host", AF_INET, "127.0.0.30", 80, 0, NI_NUMERICHOST, 4, NI_MAXSERV);
    gni("gni small serv", AF_INET, "127.0.0.1", 80, 0, 0, NI_MAXHOST, 2);
    gni("gni exact host", AF_INET, "127.0.0.1", 80, 0, NI_NUMERICHOST, 10, NI_MAXSERV);
    gni("gni exact host short", AF_INET, "127.0.0.1", 80, 0, NI_NUMERICHOST, 9, NI_MAXSERV);
    gni("gni bad flag", AF_INET, "127.0.0.1", 80, 0, 0x4000, NI_MAXHOST, NI_MAXSERV);
    {
        struct sockaddr_in in;
        memset(&in, 0, sizeof in);
        in.sin_family = AF_INET;
        char host[64] = "unset";
        int rc = getnameinfo((struct sockaddr*)&in, sizeof in - 1, host, sizeof host, NULL, 0, 0);
        printf("[gni short salen] = %s\n", eai_name(rc));
        in.sin_family = AF_UNIX;
        rc = getnameinfo((struct sockaddr*)&in, sizeof in, host, sizeof host, NULL, 0, 0);
        printf("[gni family unix] = %s\n", eai_name(rc));
    }

    // gethostbyname and friends.
    static const char* const hnames[] = {
        "a4.test.green",  "a6.test.green", "both.test.green", "many.test.green",   "chain1.test.green",
        "chain6.test.green", "nx.test.green", "txtonly.test.green", "hosts4.test.green", "h4alias",
        "hosts6.test.green", "hostsboth.test.green", "dup.test.green", "shadow.test.green", "localhost",
        "ip6-localhost",  "a4",            "A4.Test.Green",   "127.0.0.1",          "::1",
        "127.1",          "192.0.2.1",     "2001:db8::1",     "",                   "a4.test.green.",
        "spaced.test.green", "dupalias",   "hbalias",         "hosts-doc.test.green", "case.test.green",
        "CASE.TEST.GREEN", "casealias",    "long.test.green",  "l9",
    };
    static const int afs[] = {0, AF_INET, AF_INET6};
    for (size_t i = 0; i < sizeof hnames / sizeof *hnames; ++i) {
        for (size_t a = 0; a < sizeof afs / sizeof *afs; ++a) {
            if (afs[a])
                snprintf(label, sizeof label, "ghbn2 %s %s", hnames[i], family_name(afs[a]));
            else
                snprintf(label, sizeof label, "ghbn %s", hnames[i]);
            ghbn(label, hnames[i], afs[a]);
        }
        snprintf(label, sizeof label, "ghbn_r %s", hnames[i]);
        ghbn_r(label, hnames[i], 0, 8192);
        snprintf(label, sizeof label, "ghbn2_r %s inet6", hnames[i]);
        ghbn_r(label, hnames[i], AF_INET6, 8192);
    }
    // A family gethostbyname2 does not support: a DNS name, a hosts-file name,
    // numeric IPv4 and IPv6, the empty name.
    static const char* const unix_names[] = {"a4.test.green", "hosts4.test.green", "127.0.0.1", "::1", ""};
    for (size_t i = 0; i < sizeof unix_names / sizeof *unix_names; ++i) {
        snprintf(label, sizeof label, "ghbn2 %s UNIX", unix_names[i]);
        ghbn(label, unix_names[i], AF_UNIX);
    }
    for (size_t i = 0; i < sizeof unix_names / sizeof *unix_names; ++i) {
        snprintf(label, sizeof label, "ghbn2_r %s UNIX", unix_names[i]);
        ghbn_r(label, unix_names[i], AF_UNIX, 8192);
    }
    // Names shaped like addresses, or almost.
    static const char* const shaped[] = {"a:b", "fe80::zz", "1.2.3.4.5", "deadbeef.test.green", "::", ":x",
                                         "1a::1", "::ffff:127.0.0.1", "127.0.0.1.", "0x7f.1", "1.2.3.4 "};
    for (size_t i = 0; i < sizeof shaped / sizeof *shaped; ++i) {
        for (size_t a = 0; a < sizeof afs / sizeof *afs; ++a) {
            snprintf(label, sizeof label, "shaped %s %s", shaped[i], family_name(afs[a]));
            ghbn_r(label, shaped[i], afs[a], 8192);
        }
    }
    // Buffers around what glibc reads into them before it has an answer: the
    // hosts file's lines (for a name that is not there) and an address-shaped
    // name; at an aligned and an unaligned start.
    static const size_t sizes[] = {8,  33,  34,  35,  36,  40,  48,  56,  64,  72,  80,
                                   88, 96, 104, 112, 128, 160, 200, 224, 232, 240, 256};
    static const char* const small_names[] = {"nx.test.green", "deadbeef.nx.test.green", "127.0.0.1", "1.2.3.4.5",
                                              "::1"};
    for (size_t i = 0; i < sizeof small_names / sizeof *small_names; ++i)
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; ++k)
            for (size_t offset = 0; offset < 8; offset += 3) {
                snprintf(label, sizeof label, "buffer %s %zu +%zu", small_names[i], sizes[k], offset);
                ghbn_r_at(label, small_names[i], sizes[k], offset);
            }
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; ++k) {
        snprintf(label, sizeof label, "buffer ghba 192.0.2.99 %zu", sizes[k]);
        ghba_r(label, AF_INET, "192.0.2.99", 4, AF_INET, sizes[k]);
        snprintf(label, sizeof label, "buffer ghba 2001:db8::99 %zu", sizes[k]);
        ghba_r(label, AF_INET6, "2001:db8::99", 16, AF_INET6, sizes[k]);
    }
    // Answers found in DNS and in the hosts file, in buffers that may not hold them.
    static const size_t answer_sizes[] = {64, 96, 128, 160, 192, 232, 256, 264, 272, 280, 288, 300, 320, 384, 512, 1024};
    for (size_t k = 0; k < sizeof answer_sizes / sizeof *answer_sizes; ++k) {
        static const char* const found[] = {"a4.test.green", "chain1.test.green", "hosts4.test.green", "dup.test.green",
                                            "localhost",     "case.test.green",   "long.test.green"};
        for (size_t i = 0; i < sizeof found / sizeof *found; ++i) {
            snprintf(label, sizeof label, "answer %s %zu", found[i], answer_sizes[k]);
            ghbn_r_at(label, found[i], answer_sizes[k], 0);
        }
        snprintf(label, sizeof label, "answer ghba 192.0.2.10 %zu", answer_sizes[k]);
        ghba_r(label, AF_INET, "192.0.2.10", 4, AF_INET, answer_sizes[k]);
        snprintf(label, sizeof label, "answer ghba 127.0.0.30 %zu", answer_sizes[k]);
        ghba_r(label, AF_INET, "127.0.0.30", 4, AF_INET, answer_sizes[k]);
    }
    ghba_r("ghba v4 length 16 dns", AF_INET, "192.0.2.10", 16, AF_INET, 4096);
    ghba_r("ghba :: inet6", AF_INET6, "::", 16, AF_INET6, 4096);
    ghba_r("ghba zeros inet", AF_INET6, "::", 16, AF_INET, 4096);
    ghba_r("ghba unix", AF_INET, "127.0.0.1", 4, AF_UNIX, 4096);
    ghba_r("ghba v4 length 16", AF_INET, "127.0.0.30", 16, AF_INET, 4096);
    ghba_r("ghba v4 length 16 nx", AF_INET, "192.0.2.99", 16, AF_INET, 4096);
    ghba_r("ghba v4 asked as inet6", AF_INET, "127.0.0.30", 4, AF_INET6, 4096);
    ghba_r("ghba ::1 asked as inet", AF_INET6, "::1", 4, AF_INET, 4096);
    ghbn_r("ghbn_r small buffer", "both.test.green", 0, 16);
    ghbn_r("ghbn_r small buffer hosts", "hosts4.test.green", 0, 16);
    ghbn_r("ghbn_r small buffer nx", "nx.test.green", 0, 16);

    ghba("ghba 127.0.0.1", AF_INET, "127.0.0.1", 0);
    ghba("ghba 127.0.0.30", AF_INET, "127.0.0.30", 0);
    ghba("ghba 127.0.0.32", AF_INET, "127.0.0.32", 0);
    ghba("ghba 192.0.2.10", AF_INET, "192.0.2.10", 0);
    ghba("ghba 192.0.2.99", AF_INET, "192.0.2.99", 0);
    ghba("ghba ::1", AF_INET6, "::1", 0);
    ghba("ghba fd00::30", AF_INET6, "fd00::30", 0);
    ghba("ghba 2001:db8::10", AF_INET6, "2001:db8::10", 0);
    ghba("ghba 2001:db8::99", AF_INET6, "2001:db8::99", 0);
    ghba("ghba bad length", AF_INET, "127.0.0.1", 3);
    ghba("ghba v6 length 4", AF_INET6, "::1", 4);

    // The raw query interface.
    rq("rq a4 A", "a4.test.green", ns_t_a, 0);
    rq("rq a4 AAAA", "a4.test.green", ns_t_aaaa, 0);
    rq("rq nx A", "nx.test.green", ns_t_a, 0);
    rq("rq chain1 A", "chain1.test.green", ns_t_a, 0);
    rq("rs a4 A", "a4", ns_t_a, 1);
    rq("rs nx A", "nx", ns_t_a, 1);
    rq("rs a4.test.green A", "a4.test.green", ns_t_a, 1);
    printf("[end]\n");
    return 0;
}

// getaddrinfo(NAME, "80", stream) and gethostbyname(NAME) for each name.
static void lookups(const char* who, int argc, char** argv) {
    struct addrinfo h = hint(AF_UNSPEC, SOCK_STREAM, 0, 0);
    char label[128];
    for (int i = 0; i < argc; ++i) {
        snprintf(label, sizeof label, "%s %s", who, argv[i]);
        gai(label, argv[i], "80", &h);
        ghbn(label, argv[i], 0);
    }
    fflush(stdout);
}

// Proof that the process still has working waits: a poll on a pipe and a sleep.
static void still_waits(const char* who) {
    int p[2];
    if (pipe(p) != 0) {
        printf("[%s] pipe failed: %s\n", who, en(errno));
        return;
    }
    struct pollfd f = {p[0], POLLIN, 0};
    const int empty = poll(&f, 1, 50);
    if (write(p[1], "x", 1) != 1) printf("[%s] write failed\n", who);
    const int ready = poll(&f, 1, 1000);
    printf("[%s] poll empty %d ready %d revents %#x usleep %d\n", who, empty, ready, f.revents, usleep(10000));
    close(p[0]);
    close(p[1]);
    fflush(stdout);
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char* mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "matrix")) return matrix();
    if (!strcmp(mode, "lookup")) {
        lookups("lookup", argc - 2, argv + 2);
        still_waits("lookup");
        return 0;
    }
    if (!strcmp(mode, "closerange") || !strcmp(mode, "closefrom")) {
        // A sleep and a lookup first, so the runtime (hub, resolver) exists and
        // holds descriptors when close_range runs.
        usleep(1000);
        lookups("before", argc - 2, argv + 2);
        fflush(stdout);
        if (!strcmp(mode, "closefrom")) {
            closefrom(3);  // glibc's makes its close_range call internally
            printf("[closefrom]\n");
        } else {
            const int r = close_range(3, ~0U, 0);
            printf("[close_range] %d %s\n", r, r < 0 ? en(errno) : "");
        }
        lookups("after", argc - 2, argv + 2);
        still_waits("after");
        return 0;
    }
    if (!strcmp(mode, "fork")) {
        lookups("parent before", argc - 2, argv + 2);
        const pid_t pid = fork();
        if (pid == 0) {
            lookups("child", argc - 2, argv + 2);
            still_waits("child");
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        printf("[parent] child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
        lookups("parent after", argc - 2, argv + 2);
        still_waits("parent");
        return 0;
    }
    fprintf(stderr, "usage: probe_dns matrix | lookup NAME... | closerange NAME... | closefrom NAME... | fork NAME...\n");
    return 2;
}
