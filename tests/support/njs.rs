//! nginx with its JavaScript module, configured with `nginx::NativeConfig`'s output: the
//! module found (or the test skipped, except under CI), nginx started under a guard, optionally
//! behind a wrapper such as `faketime`.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tower_secure_link::nginx::SERVER_CONTEXT_MARKER;

use crate::support::{free_port, installed, ChildGuard};

/// nginx's JavaScript module, or `None` (the test is then skipped, except under CI).
pub fn js_module() -> Option<PathBuf> {
    installed(
        &[
            "/usr/lib/nginx/modules/ngx_http_js_module.so",
            "/usr/share/nginx/modules/ngx_http_js_module.so",
            "/usr/local/nginx/modules/ngx_http_js_module.so",
        ],
        "libnginx-mod-http-js",
    )
}

/// An nginx process on a free loopback port, serving one native configuration.
pub struct NjsNginx {
    /// Stops nginx when the test ends.
    _process: ChildGuard,
    pub addr: String,
    pub prefix: tempfile::TempDir,
}

impl NjsNginx {
    /// Starts nginx (behind `wrapper`, when given) with `config`, the two parts
    /// `NativeConfig` prints, and `server_extra` in the `server { }` before them.
    pub fn start(
        nginx: &Path,
        module: &Path,
        wrapper: &[&str],
        config: &str,
        server_extra: &str,
    ) -> Self {
        let prefix = tempfile::tempdir().unwrap();
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let conf = write_config(prefix.path(), module, &addr, config, server_extra);
        let (program, args) = match wrapper.split_first() {
            Some((program, rest)) => (PathBuf::from(program), rest.to_vec()),
            None => (nginx.to_owned(), Vec::new()),
        };
        let mut command = Command::new(program);
        command.args(args);
        if !wrapper.is_empty() {
            command.arg(nginx);
        }
        let p = prefix.path().display().to_string();
        command
            .args(["-p", &format!("{p}/"), "-e", &format!("{p}/logs/error.log")])
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut process = ChildGuard::spawn(&mut command);
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(&addr).is_err() {
            if let Ok(Some(status)) = process.child_mut().try_wait() {
                let log = std::fs::read_to_string(prefix.path().join("logs/error.log"));
                panic!("nginx exited with {status}:\n{}", log.unwrap_or_default());
            }
            assert!(Instant::now() < deadline, "nginx did not listen on {addr}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            _process: process,
            addr,
            prefix,
        }
    }

    /// `nginx -t` on `config`: whether it passed, and what nginx said.
    pub fn test_config(nginx: &Path, module: &Path, config: &str) -> (bool, String) {
        let prefix = tempfile::tempdir().unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let conf = write_config(prefix.path(), module, &addr, config, "");
        let p = prefix.path().display().to_string();
        let output = Command::new(nginx)
            .args([
                "-t",
                "-p",
                &format!("{p}/"),
                "-e",
                &format!("{p}/logs/error.log"),
            ])
            .arg("-c")
            .arg(&conf)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.success(), said)
    }

    /// nginx's error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.prefix.path().join("logs/error.log")).unwrap_or_default()
    }
}

fn write_config(prefix: &Path, module: &Path, addr: &str, config: &str, extra: &str) -> PathBuf {
    for dir in ["conf", "logs", "tmp"] {
        std::fs::create_dir_all(prefix.join(dir)).unwrap();
    }
    let (http, server) = config
        .split_once(SERVER_CONTEXT_MARKER)
        .expect("the native output has an http part and a server part");
    let p = prefix.display();
    let text = format!(
        "load_module {module};\n\
         daemon off;\nworker_processes 1;\npid {p}/nginx.pid;\nerror_log {p}/logs/error.log;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n    access_log off;\n    default_type application/octet-stream;\n    \
         client_body_temp_path {p}/tmp/body;\n    proxy_temp_path {p}/tmp/proxy;\n    \
         fastcgi_temp_path {p}/tmp/fastcgi;\n    uwsgi_temp_path {p}/tmp/uwsgi;\n    \
         scgi_temp_path {p}/tmp/scgi;\n{http}\n    \
         server {{\n        listen {addr};\n{extra}\n{server}\n    }}\n}}\n",
        module = module.display(),
    );
    let conf = prefix.join("conf/nginx.conf");
    std::fs::write(&conf, text).unwrap();
    conf
}
