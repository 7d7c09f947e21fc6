//! Real processes for the end-to-end tests: repositories made by `git`,
//! served by `git daemon` and by `git http-backend` behind a small CGI host,
//! a throttling TCP proxy, and `kiln serve` itself.

#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use kiln_proto::kiln::v1::{
    GenerateManifestsRequest, GenerateManifestsResponse, repo_server_client::RepoServerClient,
};
use tonic::transport::Channel;

/// Runs git with fixed identity and dates; panics with stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Lovelace")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", "2025-03-04T05:06:07+01:00")
        .env("GIT_COMMITTER_DATE", "2025-03-04T05:06:07+01:00")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A work-tree repository under a served root.
pub struct Repo {
    pub dir: PathBuf,
    pub name: String,
}

impl Repo {
    /// Creates `root/name` with an initial empty commit on `main`.
    pub fn init(root: &Path, name: &str) -> Repo {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        git(&dir, &["init", "-q", "-b", "main"]);
        git(&dir, &["config", "uploadpack.allowAnySHA1InWant", "true"]);
        Repo {
            dir,
            name: name.to_owned(),
        }
    }

    /// Writes files (path, content) and commits them; returns the sha.
    pub fn commit(&self, files: &[(&str, &str)], msg: &str) -> String {
        for (p, c) in files {
            let path = self.dir.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, c).unwrap();
        }
        git(&self.dir, &["add", "-A"]);
        git(&self.dir, &["commit", "-q", "--allow-empty", "-m", msg]);
        self.head()
    }

    pub fn head(&self) -> String {
        git(&self.dir, &["rev-parse", "HEAD"])
    }

    pub fn git(&self, args: &[&str]) -> String {
        git(&self.dir, args)
    }
}

/// A free loopback port (bound and released; fine for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn collect_lines(r: impl Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            into.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    });
}

/// `git daemon` serving every repository under `root` on 127.0.0.1.
pub struct GitDaemon {
    child: Child,
    pub port: u16,
    log: Arc<Mutex<Vec<String>>>,
}

impl GitDaemon {
    pub fn start(root: &Path) -> GitDaemon {
        Self::start_on(root, free_port())
    }

    pub fn start_on(root: &Path, port: u16) -> GitDaemon {
        // Run git-daemon itself: `git daemon` would fork it as a child that
        // outlives a kill of the `git` wrapper.
        let exec_path = git(root, &["--exec-path"]);
        let mut child = Command::new(Path::new(&exec_path).join("git-daemon"))
            .args([
                "--reuseaddr",
                "--export-all",
                "--verbose",
                "--informative-errors",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={}", root.display()),
                &root.display().to_string(),
            ])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("git daemon starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        collect_lines(child.stderr.take().unwrap(), log.clone());
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "git daemon did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        GitDaemon { child, port, log }
    }

    pub fn url(&self, name: &str) -> String {
        format!("git://127.0.0.1:{}/{name}", self.port)
    }

    /// How many upload-pack (fetch) requests the daemon has served for a repository.
    pub fn fetches(&self, name: &str) -> usize {
        // The log line is written when the request arrives; give it a moment.
        std::thread::sleep(Duration::from_millis(100));
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("Request upload-pack") && l.contains(name))
            .count()
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A TCP proxy to `upstream` whose downstream bandwidth can be throttled.
pub struct Proxy {
    pub port: u16,
    pub forwarded: Arc<AtomicU64>,
    pub throttle: Arc<AtomicBool>,
}

impl Proxy {
    /// Forwards 127.0.0.1:port to upstream; while `throttle` is set, at most
    /// `bytes_per_sec` flow back to the client.
    pub fn start(upstream: u16, bytes_per_sec: u64) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let forwarded = Arc::new(AtomicU64::new(0));
        let throttle = Arc::new(AtomicBool::new(true));
        let (f, t) = (forwarded.clone(), throttle.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let (mut c_read, mut s_write) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_read, &mut s_write);
                    let _ = s_write.shutdown(std::net::Shutdown::Write);
                });
                let (mut s_read, mut c_write) = (server, client);
                let (f, t) = (f.clone(), t.clone());
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    loop {
                        let n = match s_read.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if c_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        f.fetch_add(n as u64, Ordering::SeqCst);
                        if t.load(Ordering::SeqCst) {
                            std::thread::sleep(Duration::from_secs_f64(
                                n as f64 / bytes_per_sec as f64,
                            ));
                        }
                    }
                    let _ = c_write.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        Proxy {
            port,
            forwarded,
            throttle,
        }
    }
}

/// A minimal HTTP/1.1 host for `git http-backend` (CGI), optionally
/// requiring basic auth.
pub struct HttpGit {
    pub port: u16,
    pub requests: Arc<AtomicU64>,
}

impl HttpGit {
    pub fn start(root: &Path, basic_auth: Option<(&str, &str)>) -> HttpGit {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicU64::new(0));
        let expected = basic_auth.map(|(u, p)| format!("Basic {}", base64(&format!("{u}:{p}"))));
        let root = root.to_path_buf();
        let r = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let root = root.clone();
                let expected = expected.clone();
                let r = r.clone();
                std::thread::spawn(move || {
                    let _ = serve_cgi(stream, &root, expected.as_deref(), &r);
                });
            }
        });
        HttpGit { port, requests }
    }

    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }
}

fn serve_cgi(
    stream: TcpStream,
    root: &Path,
    auth: Option<&str>,
    count: &AtomicU64,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
        );
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h)?;
            let h = h.trim_end().to_owned();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let header = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let mut body = Vec::new();
        if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            loop {
                let mut size = String::new();
                reader.read_line(&mut size)?;
                let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                    .unwrap_or(0);
                let mut chunk = vec![0; n + 2];
                reader.read_exact(&mut chunk)?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        } else if let Some(len) = header("content-length").and_then(|l| l.parse::<usize>().ok()) {
            body.resize(len, 0);
            reader.read_exact(&mut body)?;
        }
        count.fetch_add(1, Ordering::SeqCst);
        if let Some(expected) = auth
            && header("authorization").as_deref() != Some(expected)
        {
            out.write_all(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: 0\r\n\r\n")?;
            continue;
        }
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let mut cmd = Command::new("git");
        cmd.arg("http-backend")
            .env("GIT_PROJECT_ROOT", root)
            .env("GIT_HTTP_EXPORT_ALL", "1")
            .env("PATH_INFO", path)
            .env("QUERY_STRING", query)
            .env("REQUEST_METHOD", &method)
            .env("CONTENT_LENGTH", body.len().to_string())
            .env("REMOTE_ADDR", "127.0.0.1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(ct) = header("content-type") {
            cmd.env("CONTENT_TYPE", ct);
        }
        if let Some(p) = header("git-protocol") {
            cmd.env("GIT_PROTOCOL", p);
        }
        if let Some(e) = header("content-encoding") {
            cmd.env("HTTP_CONTENT_ENCODING", e);
        }
        let mut child = cmd.spawn()?;
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&body);
        });
        let mut output = Vec::new();
        child.stdout.take().unwrap().read_to_end(&mut output)?;
        let _ = writer.join();
        let _ = child.wait();
        let split = output
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| (i, 4))
            .or_else(|| output.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
        let (head, resp_body) = match split {
            Some((i, n)) => (
                String::from_utf8_lossy(&output[..i]).into_owned(),
                &output[i + n..],
            ),
            None => (String::new(), &output[..]),
        };
        let mut status = "200 OK".to_owned();
        let mut resp_headers = String::new();
        for l in head.lines() {
            if let Some(s) = l.strip_prefix("Status:") {
                status = s.trim().to_owned();
            } else if !l.trim().is_empty() {
                resp_headers.push_str(l.trim());
                resp_headers.push_str("\r\n");
            }
        }
        write!(
            out,
            "HTTP/1.1 {status}\r\n{resp_headers}Content-Length: {}\r\n\r\n",
            resp_body.len()
        )?;
        out.write_all(resp_body)?;
        out.flush()?;
    }
}

fn base64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The last lines of a log, for failure messages.
fn tail(lines: &[String]) -> String {
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// A client of the kiln.v1 API.
pub type Client = RepoServerClient<Channel>;

/// A running `kiln serve`.
pub struct Kiln {
    child: Child,
    pub addr: String,
    pub log: Arc<Mutex<Vec<String>>>,
    pub cache_dir: PathBuf,
}

impl Kiln {
    /// Starts `kiln serve` on a free port with `args` added.
    pub fn start(cache_dir: &Path, args: &[&str]) -> Kiln {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(["serve", "--listen", "127.0.0.1:0", "--cache-dir"])
            .arg(cache_dir)
            .args(args)
            .env("KILN_LOG", "info,kiln_git=debug")
            .env_remove("KILN_ALLOW_REPO")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("kiln starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        collect_lines(child.stderr.take().unwrap(), log.clone());
        // Generous: a first start compiles every built-in plugin, and a
        // debug build on a busy 2-core machine can take a while.
        let deadline = Instant::now() + Duration::from_secs(90);
        let addr = loop {
            if let Some(a) = log
                .lock()
                .unwrap()
                .iter()
                .find_map(|l| l.strip_prefix("kiln: listening on ").map(str::to_owned))
            {
                break a;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "kiln serve exited with {status}: {}",
                    tail(&log.lock().unwrap())
                );
            }
            assert!(
                Instant::now() < deadline,
                "kiln serve did not start: {:?}",
                log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Kiln {
            child,
            addr,
            log,
            cache_dir: cache_dir.to_path_buf(),
        }
    }

    /// Starts `kiln serve` allowing every repository on 127.0.0.1's `git
    /// daemon`, with the configuration file `config`.
    pub fn with_config(cache_dir: &Path, config: &Path) -> Kiln {
        Kiln::start(
            cache_dir,
            &[
                "--allow-repo",
                "git://127.0.0.1:*/*",
                "--config",
                config.to_str().unwrap(),
            ],
        )
    }

    pub async fn client(&self) -> RepoServerClient<Channel> {
        RepoServerClient::connect(format!("http://{}", self.addr))
            .await
            .expect("connect to kiln")
    }

    pub fn channel_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL, as a crash or an OOM kill would.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Kiln {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Every response of one GenerateManifests call, or its status.
pub async fn generate(
    client: &mut RepoServerClient<Channel>,
    req: GenerateManifestsRequest,
) -> Result<Vec<GenerateManifestsResponse>, tonic::Status> {
    let mut stream = client.generate_manifests(req).await?.into_inner();
    let mut out = Vec::new();
    while let Some(m) = stream.message().await? {
        out.push(m);
    }
    Ok(out)
}

/// A GenerateManifests request.
pub fn gen_req(repo: &str, revision: &str, path: &str) -> GenerateManifestsRequest {
    GenerateManifestsRequest {
        repo_url: repo.to_owned(),
        revision: revision.to_owned(),
        path: path.to_owned(),
        ..Default::default()
    }
}

/// A YAML ConfigMap named `name` holding `value`.
pub fn configmap(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: \"{value}\"\n"
    )
}

/// Incompressible bytes, so a pack holding them stays large on the wire.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A repository whose first fetch moves about `mib` MiB.
pub fn big_repo(root: &Path, name: &str, mib: usize) -> Repo {
    let repo = Repo::init(root, name);
    std::fs::create_dir_all(repo.dir.join("app")).unwrap();
    std::fs::write(repo.dir.join("blob.bin"), noise(mib << 20, 7)).unwrap();
    repo.commit(&[("app/cm.yaml", &configmap("big", "ok"))], "big");
    repo
}
