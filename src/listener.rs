//! Listening sockets with SO_REUSEPORT, one per loop, so the kernel spreads
//! incoming connections across the loops without a shared accept queue.

use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::SocketAddr;

/// Binds a non-blocking listener with SO_REUSEADDR and SO_REUSEPORT.
pub fn bind_reuseport(addr: SocketAddr) -> io::Result<mio::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    let std: std::net::TcpListener = socket.into();
    Ok(mio::net::TcpListener::from_std(std))
}

/// Binds `n` listeners on the same address. With port 0, the first picks an
/// ephemeral port and the others join it.
pub fn bind_all(
    addr: SocketAddr,
    n: usize,
) -> io::Result<(Vec<mio::net::TcpListener>, SocketAddr)> {
    let first = bind_reuseport(addr)?;
    let local = first.local_addr()?;
    let mut v = vec![first];
    for _ in 1..n {
        v.push(bind_reuseport(local)?);
    }
    Ok((v, local))
}
