#ifndef RELAY_CSYSTEM_H
#define RELAY_CSYSTEM_H

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

// errno is a macro over a thread-local; Swift cannot read it reliably through Glibc in every mode.
static inline int csystem_errno(void) { return errno; }

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and threads it creates later), so they
// are only delivered through a signalfd, and ignores SIGPIPE so a write to a reset peer returns EPIPE.
int csystem_block_signals(void);

// A signalfd for SIGINT, SIGTERM and SIGHUP, non-blocking and close-on-exec.
int csystem_signalfd(void);

// Monotonic clock in nanoseconds.
static inline uint64_t csystem_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// A loopback or any-address TCP listener: SO_REUSEADDR, SO_REUSEPORT (so every loop owns one and
// the kernel spreads connections), non-blocking, close-on-exec. Returns the fd, or -errno.
int csystem_listen_tcp(const char *host, uint16_t port, int backlog, int reuse_port);

// The port a bound socket listens on (after binding port 0), or -errno.
int csystem_local_port(int fd);

// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC, TCP_NODELAY set on the result. Returns the fd or -errno.
int csystem_accept(int listen_fd);

/// A non-blocking TCP socket connecting to host:port (numeric, localhost, or a name resolved with
/// getaddrinfo), with TCP_NODELAY; the connect may still be in progress. -errno on failure.
int csystem_connect_tcp(const char *host, uint16_t port);

/// A non-blocking Unix stream socket connecting to `path`. -errno on failure.
int csystem_connect_unix(const char *path);

/// The pending error of a socket (SO_ERROR): 0 once a non-blocking connect succeeded.
int csystem_socket_error(int fd);

#endif
