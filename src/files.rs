//! The files the tool writes (`plan --out`, `import`) and the files it reads (declarations, secret files, SOPS
//! files, saved plans): one atomic writer, one reader of regular files, and one rule for what counts as a regular
//! file.
//!
//! A write goes to a fresh temporary file created exclusively (random name, `O_EXCL`) in the target's folder, then
//! renamed into place, so a reader never sees half a file and a link planted at a predictable name is never
//! followed. The text is written exactly as given: what it holds was checked for secrets when it was built, and a
//! finished plan or file is never rewritten.
//!
//! A read ([`read_regular`]) takes only a regular file (or a link to one), and never more than a cap: what the path
//! is and how large it is are checked before the file is opened, the open never waits (`O_NONBLOCK`, so a FIFO
//! swapped in meanwhile cannot block it), the opened file is checked again, and reading stops one byte past the cap.
//! A FIFO, a device, a socket or a folder is an error at once, never a wait nor an endless read.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Why [`read_regular`] read nothing.
#[derive(Debug)]
pub enum ReadError {
    /// The path is not a regular file (nor a link to one): what it is, in words. It was not read.
    NotRegular(&'static str),
    /// The file is larger than the cap, in bytes. It was not read past it.
    TooLarge(u64),
    /// The path could not be examined, opened or read.
    Io(std::io::Error),
}

/// Why a file was not read, as the end of a sentence naming it: `cannot read plan.json: it is a FIFO (named pipe),
/// not a regular file`. An I/O error is given in words of its kind ([`read_reason`]).
impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::NotRegular(kind) => write!(f, "it is {kind}, not a regular file"),
            ReadError::TooLarge(limit) => write!(f, "it is larger than {limit} bytes"),
            ReadError::Io(e) => f.write_str(&read_reason(e)),
        }
    }
}

/// Reads a whole regular file (or the regular file a link points to) of at most `limit` bytes.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let check = |meta: &std::fs::Metadata| match not_regular(meta) {
        Some(kind) => Err(ReadError::NotRegular(kind)),
        None if meta.len() > limit => Err(ReadError::TooLarge(limit)),
        None => Ok(()),
    };
    // Checked before opening: opening a FIFO waits for a writer, and opening a device may do anything.
    check(&std::fs::metadata(path).map_err(ReadError::Io)?)?;
    let file = open_without_waiting(path).map_err(ReadError::Io)?;
    // The file opened is what is read: the same checks, in case the path was replaced in between.
    let meta = file.metadata().map_err(ReadError::Io)?;
    check(&meta)?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        // It grew while it was read.
        return Err(ReadError::TooLarge(limit));
    }
    Ok(bytes)
}

/// Opens a file for reading without waiting: a FIFO opened for reading would wait for a writer.
fn open_without_waiting(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

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

/// Why a file could not be read, in a few words (`no such file`, `permission denied`, else the error's kind).
pub fn read_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => err.kind().to_string(),
    }
}

/// Why a file could not be written, in a few words.
fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "the folder does not exist".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "it is a folder".into(),
        kind => kind.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_is_read_whole_within_its_cap_and_not_past_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read_regular(&path, 10).unwrap(), b"0123456789");
        assert!(matches!(read_regular(&path, 9), Err(ReadError::TooLarge(9))));
        // A sparse file claims its size before any byte of it is read.
        let huge = dir.path().join("huge");
        std::fs::File::create(&huge).unwrap().set_len(1 << 40).unwrap();
        assert!(matches!(read_regular(&huge, 1 << 20), Err(ReadError::TooLarge(_))));
        assert!(
            matches!(read_regular(&dir.path().join("missing"), 10), Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound)
        );
        assert!(matches!(read_regular(dir.path(), 10), Err(ReadError::NotRegular("a directory"))));
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_a_device_or_a_socket_is_refused_at_once_even_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let socket = dir.path().join("socket");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        for (path, kind) in [
            (fifo.as_path(), "a FIFO (named pipe)"),
            (link.as_path(), "a FIFO (named pipe)"),
            (Path::new("/dev/zero"), "a device"),
            (socket.as_path(), "a socket"),
        ] {
            match read_regular(path, 1024) {
                Err(ReadError::NotRegular(found)) => assert_eq!(found, kind, "{}", path.display()),
                other => panic!("{}: {other:?}", path.display()),
            }
        }
        // A link to a regular file is read.
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let link = dir.path().join("link-to-file");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(read_regular(&link, 1).unwrap(), b"x");
    }
}
