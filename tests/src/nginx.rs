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
    port: u16,
    dir: TempDir,
}

impl Nginx {
    /// Starts nginx serving `root` as in docs/static-publication.md (checkpoints revalidated,
    /// tiles immutable) and waits until it answers.
    pub fn start(root: &Path) -> anyhow::Result<Nginx> {
        let dir = TempDir::new("nginx");
        // An ephemeral port: bound, read and released for nginx.
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let d = dir.path().display();
        let conf = dir.path().join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                "daemon off;\n\
                 master_process off;\n\
                 worker_processes 1;\n\
                 pid {d}/nginx.pid;\n\
                 error_log {d}/error.log;\n\
                 events {{ worker_connections 64; }}\n\
                 http {{\n\
                   access_log off;\n\
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
                root = root.display()
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
        let mut nginx = Nginx { child, port, dir };
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

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
