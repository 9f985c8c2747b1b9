//! The cache's files natively: a folder (`gptoss --cache DIR`, by default the user's cache folder).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Mutex;

/// The cache's folder.
#[derive(Debug, Clone)]
pub struct Root {
    dir: PathBuf,
}

/// One file of the cache, open for reading and writing.
pub struct RandomFile {
    path: PathBuf,
    file: Mutex<File>,
}

impl Root {
    pub fn new(dir: impl Into<PathBuf>) -> Root {
        Root { dir: dir.into() }
    }

    /// `$XDG_CACHE_HOME/gptoss`, `~/.cache/gptoss` (Linux), `~/Library/Caches/gptoss` (macOS) or
    /// `%LOCALAPPDATA%\gptoss` (Windows); `None` where none of those can be named.
    pub fn default_dir() -> Option<PathBuf> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let base = if cfg!(windows) {
            var("LOCALAPPDATA")
        } else if cfg!(target_os = "macos") {
            var("HOME").map(|h| h.join("Library/Caches"))
        } else {
            var("XDG_CACHE_HOME").or_else(|| var("HOME").map(|h| h.join(".cache")))
        };
        base.map(|b| b.join("gptoss"))
    }

    pub fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    /// Opens (creating) `name`.
    pub async fn open(&self, name: &str) -> Result<RandomFile, String> {
        let path = self.dir.join(name);
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(RandomFile { path, file: Mutex::new(file) })
    }

    /// Removes `name`; one that is not there is no error.
    pub async fn remove(&self, name: &str) -> Result<(), String> {
        let path = self.dir.join(name);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(format!("{}: {e}", path.display())),
            _ => Ok(()),
        }
    }

    /// The names of the files in the folder (none when it does not exist yet).
    pub async fn names(&self) -> Result<Vec<String>, String> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(format!("{}: {e}", self.dir.display())),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: {e}", self.dir.display()))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }
}

impl RandomFile {
    fn fail(&self, what: &str, e: std::io::Error) -> String {
        format!("{}: {what}: {e}", self.path.display())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, File> {
        // A panic while holding the lock leaves the file as it was: its state is the disk's, not the guard's.
        self.file.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        let mut f = self.lock();
        let what = format!("reading {} bytes at {offset}", buf.len());
        f.seek(SeekFrom::Start(offset)).and_then(|_| f.read_exact(buf)).map_err(|e| self.fail(&what, e))
    }

    pub fn write_at(&self, offset: u64, bytes: &[u8]) -> Result<(), String> {
        let mut f = self.lock();
        let what = format!("writing {} bytes at {offset}", bytes.len());
        f.seek(SeekFrom::Start(offset)).and_then(|_| f.write_all(bytes)).map_err(|e| self.fail(&what, e))
    }

    pub fn flush(&self) -> Result<(), String> {
        self.lock().sync_data().map_err(|e| self.fail("flushing", e))
    }

    /// The whole file (a manifest).
    pub fn read_all(&self) -> Result<Vec<u8>, String> {
        let mut f = self.lock();
        let mut bytes = Vec::new();
        f.seek(SeekFrom::Start(0)).and_then(|_| f.read_to_end(&mut bytes)).map_err(|e| self.fail("reading", e))?;
        Ok(bytes)
    }

    /// Makes `bytes` the whole file (a manifest).
    pub fn replace(&self, bytes: &[u8]) -> Result<(), String> {
        let mut f = self.lock();
        f.set_len(0)
            .and_then(|_| f.seek(SeekFrom::Start(0)))
            .and_then(|_| f.write_all(bytes))
            .and_then(|_| f.sync_data())
            .map_err(|e| self.fail("rewriting", e))
    }
}

/// Natively the cache has no quota of its own: the disk's free space is the limit, and a full disk is a write
/// error naming the file.
pub async fn estimate() -> Result<Option<super::Estimate>, String> {
    Ok(None)
}
