// The version glibc gave its first symbols on this target: the only one of the
// symbols it keeps for old binaries alone (_pthread_cleanup_push_defer). The
// preload stub and the hooks look a symbol up under it when it has no default
// version. Left undefined on targets not listed.
#pragma once

#if defined(__x86_64__)
#define GREEN_GLIBC_BASE_VERSION "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define GREEN_GLIBC_BASE_VERSION "GLIBC_2.17"
#elif defined(__i386__)
#define GREEN_GLIBC_BASE_VERSION "GLIBC_2.0"
#endif
