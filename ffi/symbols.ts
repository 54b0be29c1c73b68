/**
 * FFI symbol tables. The C signature is beside each symbol.
 * @module
 */

/** libmnl (`libmnl.so.0`): the netlink socket helpers. */
export const LIBMNL_SYMBOLS = {
  // struct mnl_socket *mnl_socket_open2(int bus, int flags);
  mnl_socket_open2: { parameters: ["i32", "i32"], result: "pointer" },
  // int mnl_socket_bind(struct mnl_socket *nl, unsigned int groups, pid_t pid);
  mnl_socket_bind: { parameters: ["pointer", "u32", "i32"], result: "i32" },
  // unsigned int mnl_socket_get_portid(const struct mnl_socket *nl);
  mnl_socket_get_portid: { parameters: ["pointer"], result: "u32" },
  // int mnl_socket_get_fd(const struct mnl_socket *nl);
  mnl_socket_get_fd: { parameters: ["pointer"], result: "i32" },
  // ssize_t mnl_socket_sendto(const struct mnl_socket *nl, const void *buf, size_t len);
  mnl_socket_sendto: { parameters: ["pointer", "buffer", "usize"], result: "isize" },
  // ssize_t mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t bufsiz);
  mnl_socket_recvfrom: { parameters: ["pointer", "buffer", "usize"], result: "isize" },
  // int mnl_socket_setsockopt(const struct mnl_socket *nl, int type, void *buf, socklen_t len);
  mnl_socket_setsockopt: { parameters: ["pointer", "i32", "buffer", "u32"], result: "i32" },
  // int mnl_socket_close(struct mnl_socket *nl);
  mnl_socket_close: { parameters: ["pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * libc (`libc.so.6`): socket calls (fallback transport) plus errno, poll, setns and the
 * open/read/close that read sysctls (Deno refuses /proc to anything short of --allow-all).
 */
export const LIBC_SYMBOLS = {
  // int socket(int domain, int type, int protocol);
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  // int bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen);
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // int getsockname(int sockfd, struct sockaddr *addr, socklen_t *addrlen);
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // ssize_t sendto(int sockfd, const void *buf, size_t len, int flags,
  //                const struct sockaddr *dest_addr, socklen_t addrlen);
  sendto: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "isize",
  },
  // ssize_t recv(int sockfd, void *buf, size_t len, int flags);  (called with MSG_DONTWAIT)
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  // int setsockopt(int sockfd, int level, int optname, const void *optval, socklen_t optlen);
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  // int close(int fd);
  close: { parameters: ["i32"], result: "i32" },
  // int poll(struct pollfd *fds, nfds_t nfds, int timeout);  -- waits off the event loop
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  // int *__errno_location(void);
  __errno_location: { parameters: [], result: "pointer" },
  // int setns(int fd, int nstype);
  setns: { parameters: ["i32", "i32"], result: "i32" },
  // int open(const char *pathname, int flags);
  open: { parameters: ["buffer", "i32"], result: "i32" },
  // ssize_t read(int fd, void *buf, size_t count);  (sysctl files: small, never blocks)
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // int capget(cap_user_header_t hdrp, cap_user_data_t datap);
  capget: { parameters: ["buffer", "buffer"], result: "i32" },
  // int eventfd(unsigned int initval, int flags);
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  // ssize_t write(int fd, const void *buf, size_t count);
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // int malloc_trim(size_t pad);  (glibc only: optional, null elsewhere)
  malloc_trim: { parameters: ["usize"], result: "i32", optional: true },
} as const satisfies Deno.ForeignLibraryInterface;
