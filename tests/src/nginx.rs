//! A real nginx (Debian's `/usr/sbin/nginx`) serving a directory on an ephemeral loopback
//! port, as the test's own process (no daemon, no master process), with every file it writes
//! inside its own temporary directory, and killed on drop: the web server of static copies
//! (docs/static-publication.md) in tests.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{TempDir, get, wait_until};

/// Where Debian installs nginx.
pub const NGINX: &str = "/usr/sbin/nginx";

/// How long nginx may take to listen.
const DEADLINE: Duration = Duration::from_secs(60);

/// Whether nginx is installed.
pub fn available() -> bool {
    Path::new(NGINX).exists()
}

/// A running nginx serving one directory, killed on drop.
pub struct Nginx {
    child: Child,
    /// Whether `child` is a master process with workers of its own.
    master: bool,
    port: u16,
    dir: TempDir,
}

impl Nginx {
    /// Starts nginx serving `root` as in docs/static-publication.md (checkpoints revalidated,
    /// tiles immutable) and waits until it answers.
    pub fn start(root: &Path) -> anyhow::Result<Nginx> {
        Nginx::start_with_workers(root, 1)
    }

    /// [`Nginx::start`] with `workers` worker processes (a master process then starts them;
    /// it stays in the foreground, and is killed on drop with its workers, which exit when
    /// their master does). The benchmark uses as many workers as there are cores.
    pub fn start_with_workers(root: &Path, workers: usize) -> anyhow::Result<Nginx> {
        let dir = TempDir::new("nginx");
        // An ephemeral port: bound, read and released for nginx.
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let d = dir.path().display();
        let conf = dir.path().join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                "daemon off;\n\
                 master_process {master};\n\
                 {user}\
                 worker_processes {workers};\n\
                 pid {d}/nginx.pid;\n\
                 error_log {d}/error.log;\n\
                 events {{ worker_connections 64; }}\n\
                 http {{\n\
                   access_log off;\n\
                   sendfile on;\n\
                   client_body_temp_path {d}/client_body;\n\
                   proxy_temp_path {d}/proxy;\n\
                   fastcgi_temp_path {d}/fastcgi;\n\
                   uwsgi_temp_path {d}/uwsgi;\n\
                   scgi_temp_path {d}/scgi;\n\
                   default_type application/octet-stream;\n\
                   server {{\n\
                     listen 127.0.0.1:{port};\n\
                     root {root};\n\
                     location ~ /checkpoint$ {{\n\
                       default_type text/plain;\n\
                       add_header Cache-Control \"no-cache, max-age=2\";\n\
                     }}\n\
                     location /log/ {{\n\
                       add_header Cache-Control \"public, max-age=31536000, immutable\";\n\
                     }}\n\
                   }}\n\
                 }}\n",
                root = root.display(),
                master = if workers > 1 { "on" } else { "off" },
                user = worker_user(workers > 1),
            ),
        )?;
        let child = Command::new(NGINX)
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut nginx = Nginx {
            child,
            master: workers > 1,
            port,
            dir,
        };
        let url = nginx.url("/");
        wait_until(DEADLINE, "nginx to listen", || {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                let log = std::fs::read_to_string(nginx.dir.path().join("error.log"));
                panic!("nginx exited with {status}: {}", log.unwrap_or_default());
            }
            get(&url).map(|_| ()).map_err(|e| e.to_string())
        });
        Ok(nginx)
    }

    /// The URL of `path` (starting with `/`) on this nginx.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// The `user` directive for workers started by a master: the current user, so that they read
/// what the test wrote (a master started by root would otherwise run them as `nobody`).
fn worker_user(master: bool) -> String {
    let name = Command::new("id").arg("-un").output().ok();
    match name {
        Some(out) if master && out.status.success() => {
            format!("user {};\n", String::from_utf8_lossy(&out.stdout).trim())
        }
        _ => String::new(),
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // A master stops its workers on SIGTERM; SIGKILL would leave them running.
        if self.master {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string())
                .status();
            let began = std::time::Instant::now();
            while began.elapsed() < Duration::from_secs(5) {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
