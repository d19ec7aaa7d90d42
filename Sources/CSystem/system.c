#define _GNU_SOURCE
#include "CSystem.h"
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

// The signals Relay handles as events.
static void handled_signals(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
}

int csystem_block_signals(void) {
    sigset_t set;
    handled_signals(&set);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) return -1;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

int csystem_signalfd(void) {
    sigset_t set;
    handled_signals(&set);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *out, socklen_t *len) {
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *len = sizeof(*v4);
        return 0;
    }
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *len = sizeof(*v6);
        return 0;
    }
    if (strcmp(host, "localhost") == 0) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof(*v4);
        return 0;
    }
    return -EINVAL;
}

int csystem_listen_tcp(const char *host, uint16_t port, int backlog, int reuse_port) {
    struct sockaddr_storage addr;
    socklen_t len;
    int rc = resolve(host, port, &addr, &len);
    if (rc < 0) return rc;
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        int e = errno; close(fd); return -e;
    }
    if (bind(fd, (struct sockaddr *)&addr, len) != 0) { int e = errno; close(fd); return -e; }
    if (listen(fd, backlog) != 0) { int e = errno; close(fd); return -e; }
    return fd;
}

int csystem_local_port(int fd) {
    struct sockaddr_storage addr;
    socklen_t len = sizeof(addr);
    if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0) return -errno;
    if (addr.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&addr)->sin_port);
    if (addr.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
    return -EAFNOSUPPORT;
}

int csystem_accept(int listen_fd) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

int csystem_connect_tcp(const char *host, uint16_t port) {
    struct sockaddr_storage addr;
    socklen_t len;
    if (resolve(host, port, &addr, &len) < 0) {
        // A name (a service in a container network): getaddrinfo blocks while it asks, so Relay
        // resolves only when it (re)connects, never on a message's path.
        struct addrinfo hints = {0}, *found = NULL;
        hints.ai_socktype = SOCK_STREAM;
        char service[8];
        snprintf(service, sizeof(service), "%u", port);
        int rc = getaddrinfo(host, service, &hints, &found);
        if (rc != 0 || found == NULL) return -EHOSTUNREACH;
        memcpy(&addr, found->ai_addr, found->ai_addrlen);
        len = found->ai_addrlen;
        freeaddrinfo(found);
    }
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&addr, len) < 0 && errno != EINPROGRESS) {
        int error = errno;
        close(fd);
        return -error;
    }
    return fd;
}

int csystem_connect_unix(const char *path) {
    struct sockaddr_un addr = {0};
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(addr.sun_path)) return -ENAMETOOLONG;
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS && errno != EAGAIN) {
        int error = errno;
        close(fd);
        return -error;
    }
    return fd;
}

int csystem_socket_error(int fd) {
    int error = 0;
    socklen_t len = sizeof(error);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0) return errno;
    return error;
}
