//! The `HostInfo` port natively: free disk on the data volume (`statvfs`) and memory
//! (`/proc/meminfo`).

use reservas_app::ports::HostInfo;
use std::path::{Path, PathBuf};

/// Facts about this machine; `data_dir` is the directory holding the database file.
#[derive(Debug, Clone)]
pub struct NativeHost {
    pub data_dir: PathBuf,
}

impl NativeHost {
    pub fn new(data_dir: impl Into<PathBuf>) -> NativeHost {
        NativeHost { data_dir: data_dir.into() }
    }
}

impl HostInfo for NativeHost {
    fn disk(&self) -> Option<(u64, u64)> {
        disk_space(&self.data_dir)
    }

    fn memory(&self) -> Option<(u64, u64)> {
        let text = std::fs::read_to_string("/proc/meminfo").ok()?;
        parse_meminfo(&text)
    }
}

/// (available, total) bytes on the volume holding `path` (the nearest existing ancestor if
/// `path` does not exist yet). Available is what an unprivileged process may use.
#[cfg(unix)]
pub fn disk_space(path: &Path) -> Option<(u64, u64)> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let existing = path.ancestors().find(|p| !p.as_os_str().is_empty() && p.exists());
    let existing = existing.unwrap_or(Path::new("."));
    let c_path = CString::new(existing.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c_path is a valid NUL-terminated string and st a valid out-pointer.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), &mut st) };
    if rc != 0 {
        return None;
    }
    let frsize = if st.f_frsize > 0 { st.f_frsize as u64 } else { st.f_bsize as u64 };
    Some(((st.f_bavail as u64).saturating_mul(frsize), (st.f_blocks as u64).saturating_mul(frsize)))
}

/// Not available off Unix.
#[cfg(not(unix))]
pub fn disk_space(_path: &Path) -> Option<(u64, u64)> {
    None
}

/// (MemAvailable, MemTotal) in bytes from the text of `/proc/meminfo`.
pub fn parse_meminfo(text: &str) -> Option<(u64, u64)> {
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.split(':').next() == Some(name))?;
        let kib: u64 = line.split(':').nth(1)?.split_whitespace().next()?.parse().ok()?;
        Some(kib.saturating_mul(1024))
    };
    Some((field("MemAvailable")?, field("MemTotal")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_meminfo() {
        let text = "MemTotal:       16318712 kB\nMemFree:         1000000 kB\nMemAvailable:    8000000 kB\n";
        assert_eq!(parse_meminfo(text), Some((8_000_000 * 1024, 16_318_712 * 1024)));
        assert_eq!(parse_meminfo("MemTotal: 1 kB\n"), None);
    }

    #[test]
    fn reads_this_machine() {
        let dir = tempfile::tempdir().unwrap();
        let host = NativeHost::new(dir.path().join("not/yet/created"));
        let (avail, total) = host.disk().expect("statvfs");
        assert!(total > 0 && avail <= total, "{avail} / {total}");
        if cfg!(target_os = "linux") {
            let (avail, total) = host.memory().expect("meminfo");
            assert!(total > 0 && avail <= total, "{avail} / {total}");
        }
    }
}
