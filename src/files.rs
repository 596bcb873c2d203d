//! The files the tool writes (`plan --out`, `import`) and the kinds of file it reads: one atomic writer, and one
//! rule for what counts as a regular file.
//!
//! A write goes to a fresh temporary file created exclusively (random name, `O_EXCL`) in the target's folder, then
//! renamed into place, so a reader never sees half a file and a link planted at a predictable name is never
//! followed. The text is written exactly as given: what it holds was checked for secrets when it was built, and a
//! finished plan or file is never rewritten.

use std::io::Write;
use std::path::{Path, PathBuf};

/// What a path that is not a regular file is, in words (`None` for a regular file).
pub fn not_regular(meta: &std::fs::Metadata) -> Option<&'static str> {
    let kind = meta.file_type();
    if kind.is_file() {
        return None;
    }
    if kind.is_dir() {
        return Some("a directory");
    }
    if kind.is_symlink() {
        return Some("a symbolic link");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if kind.is_socket() {
            return Some("a socket");
        }
        if kind.is_block_device() || kind.is_char_device() {
            return Some("a device");
        }
    }
    Some("not a regular file")
}

/// Why a file was not written. Nothing is left behind in any case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("{path} already exists")]
    Exists { path: String },
    #[error("refusing to overwrite {path}: it is {what}")]
    Protected { path: String, what: String },
    #[error("refusing to replace {path}: it is {kind}; only a regular file is replaced")]
    NotRegular { path: String, kind: &'static str },
    #[error("cannot write {path}: {reason}")]
    Io { path: String, reason: String },
}

impl WriteError {
    pub fn hint(&self) -> String {
        match self {
            WriteError::Exists { .. } => "choose another path, or pass --force to replace it".into(),
            WriteError::Protected { .. } | WriteError::NotRegular { .. } => {
                "write to another path (a new file, or a regular file you mean to replace)".into()
            }
            WriteError::Io { .. } => "check that the folder exists and is writable".into(),
        }
    }
}

/// Writes `text` to `path` atomically, exactly as given. An existing regular file is replaced only with `replace`; a link, a
/// device, a FIFO or a folder is never replaced; nor is any of `protected` (the declaration file, secret files).
pub fn write_atomic(path: &Path, text: &str, replace: bool, protected: &[(PathBuf, String)]) -> Result<(), WriteError> {
    let shown = path.display().to_string();
    let io = |e: std::io::Error| WriteError::Io { path: shown.clone(), reason: io_reason(&e) };
    let Some(name) = path.file_name() else {
        return Err(WriteError::Io { path: shown, reason: "it does not name a file".into() });
    };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let target = std::fs::canonicalize(dir).map_err(io)?.join(name);
    for (other, what) in protected {
        if std::fs::canonicalize(other).is_ok_and(|o| o == target) {
            return Err(WriteError::Protected { path: shown, what: what.clone() });
        }
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) => {
            if let Some(kind) = not_regular(&meta) {
                return Err(WriteError::NotRegular { path: shown, kind });
            }
            if !replace {
                return Err(WriteError::Exists { path: shown });
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(text.as_bytes()).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    let placed = if replace { tmp.persist(path) } else { tmp.persist_noclobber(path) };
    match placed {
        Ok(_) => Ok(()),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Err(WriteError::Exists { path: shown }),
        Err(e) => Err(io(e.error)),
    }
}

fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "the folder does not exist".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "it is a folder".into(),
        kind => kind.to_string(),
    }
}
