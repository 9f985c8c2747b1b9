//! The cache's files in the browser: the folder `gptoss-cache` of the origin's private file system, each file
//! read and written through a `FileSystemSyncAccessHandle`. Those handles exist only in dedicated workers (the
//! engine's); elsewhere opening a file fails with the browser's own message.

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetDirectoryOptions, FileSystemGetFileOptions,
    FileSystemReadWriteOptions, FileSystemSyncAccessHandle, StorageManager,
};

use crate::source::web::js_text;

/// The folder in the origin's private file system.
const FOLDER: &str = "gptoss-cache";

/// The origin's cache folder (opened on each use: the handle is cheap to get).
#[derive(Debug, Clone, Default)]
pub struct Root;

/// One file of the cache, open for reading and writing. Closed when dropped, which lets the next load (or a
/// delete) open it again.
pub struct RandomFile {
    name: String,
    handle: FileSystemSyncAccessHandle,
}

fn storage() -> Result<StorageManager, String> {
    let global = js_sys::global();
    if let Some(worker) = global.dyn_ref::<web_sys::WorkerGlobalScope>() {
        Ok(worker.navigator().storage())
    } else if let Some(window) = global.dyn_ref::<web_sys::Window>() {
        Ok(window.navigator().storage())
    } else {
        Err("no navigator.storage in this JavaScript context".into())
    }
}

async fn wait(promise: Promise) -> Result<JsValue, String> {
    JsFuture::from(promise).await.map_err(|e| error_text(&e))
}

/// A DOMException as `Name: message` (a quota error must say it is one).
fn error_text(e: &JsValue) -> String {
    let name = Reflect::get(e, &"name".into()).ok().and_then(|v| v.as_string());
    match name {
        Some(name) if name != "Error" => format!("{name}: {}", js_text(e)),
        _ => js_text(e),
    }
}

impl Root {
    pub fn new() -> Root {
        Root
    }

    pub fn describe(&self) -> String {
        format!("the browser's origin private file system, folder {FOLDER}")
    }

    async fn folder(&self) -> Result<FileSystemDirectoryHandle, String> {
        let root: FileSystemDirectoryHandle = wait(storage()?.get_directory()).await?.unchecked_into();
        let options = FileSystemGetDirectoryOptions::new();
        options.set_create(true);
        Ok(wait(root.get_directory_handle_with_options(FOLDER, &options)).await?.unchecked_into())
    }

    /// Opens (creating) `name` with a synchronous access handle. A file another context holds open is tried again
    /// for a few seconds — the worker of a page just reloaded lets go of its handles a moment after the new page
    /// starts — and then refused with [`super::BUSY`] in the error.
    pub async fn open(&self, name: &str) -> Result<RandomFile, String> {
        let options = FileSystemGetFileOptions::new();
        options.set_create(true);
        let file: FileSystemFileHandle =
            wait(self.folder().await?.get_file_handle_with_options(name, &options)).await?.unchecked_into();
        let mut delay_ms = 100;
        loop {
            match wait(file.create_sync_access_handle()).await {
                Ok(handle) => return Ok(RandomFile { name: name.into(), handle: handle.unchecked_into() }),
                Err(e) if e.starts_with("NoModificationAllowedError") && delay_ms <= 1600 => {
                    crate::source::web::sleep_ms(delay_ms).await;
                    delay_ms *= 2;
                }
                Err(e) if e.starts_with("NoModificationAllowedError") => {
                    return Err(format!("{name}: {} ({e})", super::BUSY));
                }
                Err(e) => return Err(format!("{name}: cannot open it for synchronous access ({e})")),
            }
        }
    }

    /// Removes `name`; one that is not there is no error.
    pub async fn remove(&self, name: &str) -> Result<(), String> {
        match wait(self.folder().await?.remove_entry(name)).await {
            Err(e) if e.starts_with("NotFoundError") => Ok(()),
            Err(e) => Err(format!("{name}: {e}")),
            Ok(_) => Ok(()),
        }
    }

    pub async fn names(&self) -> Result<Vec<String>, String> {
        let keys = self.folder().await?.keys();
        let mut names = Vec::new();
        loop {
            let next = keys.next().map_err(|e| error_text(&e))?;
            let step = wait(next).await?;
            if Reflect::get(&step, &"done".into()).ok().and_then(|v| v.as_bool()) == Some(true) {
                return Ok(names);
            }
            let name = Reflect::get(&step, &"value".into()).ok().and_then(|v| v.as_string());
            names.extend(name);
        }
    }
}

fn at(offset: u64) -> FileSystemReadWriteOptions {
    let options = FileSystemReadWriteOptions::new();
    options.set_at(offset as f64);
    options
}

impl RandomFile {
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        let n = self
            .handle
            .read_with_u8_array_and_options(buf, &at(offset))
            .map_err(|e| format!("{}: reading {} bytes at {offset}: {}", self.name, buf.len(), error_text(&e)))?;
        if n as usize != buf.len() {
            return Err(format!(
                "{}: reading {} bytes at {offset} gave {n} (the file is shorter)",
                self.name,
                buf.len()
            ));
        }
        Ok(())
    }

    pub fn write_at(&self, offset: u64, bytes: &[u8]) -> Result<(), String> {
        let fail = |e: String| format!("{}: writing {} bytes at {offset}: {e}", self.name, bytes.len());
        let n = self.handle.write_with_u8_array_and_options(bytes, &at(offset)).map_err(|e| fail(error_text(&e)))?;
        if n as usize != bytes.len() {
            return Err(fail(format!("only {n} written")));
        }
        Ok(())
    }

    pub fn flush(&self) -> Result<(), String> {
        self.handle.flush().map_err(|e| format!("{}: flushing: {}", self.name, error_text(&e)))
    }

    pub fn read_all(&self) -> Result<Vec<u8>, String> {
        let size = self.handle.get_size().map_err(|e| format!("{}: size: {}", self.name, error_text(&e)))?;
        let mut bytes = vec![0u8; size as usize];
        self.read_at(0, &mut bytes)?;
        Ok(bytes)
    }

    pub fn replace(&self, bytes: &[u8]) -> Result<(), String> {
        self.handle.truncate_with_f64(0.0).map_err(|e| format!("{}: truncating: {}", self.name, error_text(&e)))?;
        if !bytes.is_empty() {
            self.write_at(0, bytes)?;
        }
        self.flush()
    }
}

impl Drop for RandomFile {
    fn drop(&mut self) {
        self.handle.close();
    }
}

/// `navigator.storage.estimate()`: this origin's quota and usage.
pub async fn estimate() -> Result<Option<super::Estimate>, String> {
    let estimate: Object = wait(storage()?.estimate().map_err(|e| error_text(&e))?).await?.unchecked_into();
    let field = |key: &str| Reflect::get(&estimate, &key.into()).ok().and_then(|v| v.as_f64());
    match (field("usage"), field("quota")) {
        (Some(usage), Some(quota)) => Ok(Some(super::Estimate { usage: usage as u64, quota: quota as u64 })),
        _ => Err("navigator.storage.estimate() gave no usage or quota".into()),
    }
}
