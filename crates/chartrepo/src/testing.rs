//! Test support (feature `testing`): a chart repository served over HTTP/1.0
//! on 127.0.0.1 and chart archives laid out as `helm package` writes them.
//! For tests only; every failure panics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Write},
    net::{TcpListener, TcpStream},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    thread,
};

/// Serves files (request path → bytes) on 127.0.0.1 until dropped.
pub struct FileServer {
    port: u16,
    files: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    requests: Arc<AtomicUsize>,
    auth: Arc<Mutex<Option<String>>>,
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
}

impl FileServer {
    /// Starts serving `files`, keyed by request path (`/charts/index.yaml`).
    pub fn start(files: BTreeMap<String, Vec<u8>>) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("local address").port();
        let files = Arc::new(Mutex::new(files));
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let auth: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        let (f, r, s, a) = (files.clone(), requests.clone(), stop.clone(), auth.clone());
        let handle = thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                answer(conn, &f, &r, &a);
            }
        });
        FileServer {
            port,
            files,
            requests,
            auth,
            stop,
            handle: Some(handle),
        }
    }

    /// The repository URL: `http://127.0.0.1:PORT/charts`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/charts", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Adds or replaces the file at request path `path`.
    pub fn put(&self, path: &str, bytes: Vec<u8>) {
        self.files.lock().unwrap().insert(path.to_owned(), bytes);
    }

    /// Stops serving the file at request path `path` (404 from now on).
    pub fn remove(&self, path: &str) {
        self.files.lock().unwrap().remove(path);
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// From now on, answers 401 unless the request carries this exact
    /// `Authorization` header value.
    pub fn require_authorization(&self, value: &str) {
        *self.auth.lock().unwrap() = Some(value.to_owned());
    }

    /// Stops serving; later connections are refused.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn answer(
    mut conn: TcpStream,
    files: &Mutex<BTreeMap<String, Vec<u8>>>,
    requests: &AtomicUsize,
    auth: &Mutex<Option<String>>,
) {
    let Ok(clone) = conn.try_clone() else { return };
    let mut reader = BufReader::new(clone);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut authorization = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("authorization")
        {
            authorization = Some(v.trim().to_owned());
        }
    }
    requests.fetch_add(1, Ordering::SeqCst);
    let want = auth.lock().unwrap().clone();
    if want.is_some() && authorization != want {
        let _ = conn.write_all(b"HTTP/1.0 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/");
    let body = files.lock().unwrap().get(path).cloned();
    let _ = match body {
        Some(b) => conn
            .write_all(format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", b.len()).as_bytes())
            .and_then(|_| conn.write_all(&b)),
        None => conn.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
    };
}

/// A gzipped tar of `files` (path inside the chart → text) under the folder
/// `name/`, as `helm package` lays a chart out.
pub fn chart_archive(name: &str, files: &[(&str, &str)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, text) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, format!("{name}/{path}"), text.as_bytes())
            .expect("tar entry");
    }
    let raw = tar.into_inner().expect("tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw).expect("gzip");
    gz.finish().expect("gzip")
}
