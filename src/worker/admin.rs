//! The admin thread's requests (`admin::Request`), handled when the loop
//! is woken for them: MO injection, a message's record and events, the
//! unbind of one session.

use super::Worker;
use crate::admin::Request;
use crate::conn::ConnKey;
use crate::session;

impl Worker {
    pub(super) fn drain_admin(&mut self) {
        let Some(rx) = self.admin.take() else {
            return;
        };
        while let Ok(req) = rx.try_recv() {
            match req {
                Request::Mo(inj) => {
                    let r = crate::inject::inject_mo(&mut self.st, &self.shared, &inj.req)
                        .map(|id| String::from_utf8_lossy(&id).into_owned());
                    let _ = inj.reply.send(r);
                }
                Request::Message { key, reply } => {
                    let _ = reply.send(crate::admin::messages::view(&self.st, key));
                }
                Request::Unbind { slot, gen, reply } => {
                    let key = ConnKey { slot, gen };
                    let idx = slot as usize;
                    let sent = match self.conns.get_mut(idx) {
                        Some(c) if c.s.key == key && c.s.is_bound() && !c.s.closed => {
                            session::start_unbind(&mut self.st, &self.shared, &mut c.s);
                            true
                        }
                        _ => false,
                    };
                    if sent {
                        self.mark_flush(idx);
                    }
                    let _ = reply.send(sent);
                }
            }
        }
        self.admin = Some(rx);
    }
}
