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

/// Fails with `AddrInUse` when something already listens on `addr`.
/// SO_REUSEPORT would otherwise let a second server (of the same user)
/// join the first one's port without a word, and the kernel would split
/// the ESMEs' connections between the two: a receiver bound to one never
/// gets the receipts of a transmitter bound to the other. A socket without
/// SO_REUSEPORT cannot bind where another listens (SO_REUSEADDR still lets
/// a restart bind over its old connections in TIME_WAIT).
fn probe_free(addr: SocketAddr) -> io::Result<()> {
    if addr.port() == 0 {
        return Ok(());
    }
    let probe = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    probe.set_reuse_address(true)?;
    probe.bind(&addr.into())
}

/// Binds `n` listeners on the same address. With port 0, the first picks an
/// ephemeral port and the others join it. Refuses a port another process
/// listens on (`probe_free`).
pub fn bind_all(
    addr: SocketAddr,
    n: usize,
) -> io::Result<(Vec<mio::net::TcpListener>, SocketAddr)> {
    probe_free(addr)?;
    let first = bind_reuseport(addr)?;
    let local = first.local_addr()?;
    let mut v = vec![first];
    for _ in 1..n {
        v.push(bind_reuseport(local)?);
    }
    Ok((v, local))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_port_another_listener_holds_is_refused_not_shared() {
        let (first, addr) = bind_all("127.0.0.1:0".parse().unwrap(), 2).unwrap();
        let err = bind_all(addr, 1).map(|_| ()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        drop(first);
        // Free again once the first is gone.
        let (again, _) = bind_all(addr, 2).unwrap();
        assert_eq!(again.len(), 2);
    }
}
