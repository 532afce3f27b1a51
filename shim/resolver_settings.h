// The variables that configure green's own resolver. Only it can follow them,
// so where one is set it answers every lookup (unless GREEN_DNS=system): the
// hooks decide so (state.cpp), and the preload stub loads them for a lookup
// (stub/preload_stub.c). C, for the stub.
#pragma once

#define GREEN_RESOLVER_SETTINGS "GREEN_DNS_SERVERS", "GREEN_DNS_TIMEOUT", "GREEN_DNS_TRIES", "GREEN_HOSTS_FILE"
