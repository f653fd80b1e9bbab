//! Pinning a thread to one CPU core (`--cores`), the way benchmarks are run.

/// Pins the calling thread to `core`. Logs and carries on if the OS refuses.
pub fn pin_to_core(core: usize) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: cpu_set_t is plain data; CPU_SET writes inside it for
        // core < CPU_SETSIZE, which we check; sched_setaffinity(0) is this thread.
        let ok = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if core >= libc::CPU_SETSIZE as usize {
                false
            } else {
                libc::CPU_SET(core, &mut set);
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
            }
        };
        if !ok {
            tracing::warn!("could not pin thread to core {core}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = core;
        tracing::warn!("--cores is only supported on Linux");
    }
}
