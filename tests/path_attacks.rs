//! The path boundary under attack: a real axum app serving a folder with tower-http's
//! `ServeDir` behind the layer, reached over TCP with a raw client that sends each request
//! target byte for byte (no URL library tidies it first). No case may get the private bytes.

use std::net::SocketAddr;
use std::path::Path;

use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower_http::services::ServeDir;
use tower_secure_link::{Key, SecureLinkLayer, UrlSigner};

const PRIVATE_MARKER: &str = "PRIVATE-BYTES-7f3a91";

fn write(root: &Path, relative: &str, contents: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

async fn start_server() -> (SocketAddr, UrlSigner, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    write(root.path(), "index.html", "public page");
    write(root.path(), "static/app.js", "public script");
    write(root.path(), "private/secret.txt", PRIVATE_MARKER);
    write(root.path(), "private/other.txt", "another private file");
    write(root.path(), "private/public/logo.txt", "public logo");
    let layer = SecureLinkLayer::new(Key::new("1", [42u8; 32]).unwrap())
        .with_private_prefix("/private/")
        .unwrap()
        .with_public_exception("/private/public/")
        .unwrap();
    let signer = layer.signer();
    let app = Router::new()
        .fallback_service(ServeDir::new(root.path()))
        .layer(layer);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, signer, root)
}

/// Sends one request with the target exactly as given; returns the status and the whole response.
async fn raw_get(addr: SocketAddr, target: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = b"GET ".to_vec();
    request.extend_from_slice(target);
    request.extend_from_slice(b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(&request).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn no_spelling_of_a_private_path_leaks_without_a_valid_link() {
    let (addr, signer, _root) = start_server().await;
    let other_link = signer.sign("/private/other.txt").unwrap();
    let other_query = other_link.split_once('?').unwrap().1.to_owned();

    struct Case {
        name: &'static str,
        target: Vec<u8>,
    }
    let case = |name, target: &str| Case {
        name,
        target: target.as_bytes().to_vec(),
    };
    #[rustfmt::skip]
    let mut cases = vec![
        case("plain", "/private/secret.txt"),
        case("dot-dot out of the public exception", "/private/public/../secret.txt"),
        case("encoded dot-dot, lower case", "/private/public/%2e%2e/secret.txt"),
        case("encoded dot-dot, upper case", "/private/public/%2E%2E/secret.txt"),
        case("half-encoded dot-dot", "/private/public/.%2e/secret.txt"),
        case("other half-encoded dot-dot", "/private/public/%2e./secret.txt"),
        case("dot-dot with encoded slash", "/private/public/..%2fsecret.txt"),
        case("dot-dot with upper-case encoded slash", "/private/public/..%2Fsecret.txt"),
        case("dot-dot with encoded backslash", "/private/public/..%5csecret.txt"),
        case("dot-dot with raw backslash", "/private/public/..\\secret.txt"),
        case("double-encoded dot-dot", "/private/public/%252e%252e/secret.txt"),
        case("double-encoded dot-dot and slash", "/private/public/%252e%252e%252fsecret.txt"),
        case("climb from a public folder", "/static/../private/secret.txt"),
        case("encoded climb from a public folder", "/static/%2e%2e/private/secret.txt"),
        case("encoded climb from the root", "/%2e%2e/private/secret.txt"),
        case("climb above the root", "/../private/secret.txt"),
        case("leading double slash", "//private/secret.txt"),
        case("inner double slash", "/private//secret.txt"),
        case("leading dot segment", "/./private/secret.txt"),
        case("inner dot segment", "/private/./secret.txt"),
        case("encoded slash after the prefix", "/private%2fsecret.txt"),
        case("upper-case encoded slash after the prefix", "/private%2Fsecret.txt"),
        case("encoded backslash after the prefix", "/private%5csecret.txt"),
        case("raw backslash after the prefix", "/private\\secret.txt"),
        case("upper-case prefix", "/PRIVATE/secret.txt"),
        case("title-case prefix", "/Private/secret.txt"),
        case("encoded upper-case letter", "/%50rivate/secret.txt"),
        case("encoded lower-case letter", "/%70rivate/secret.txt"),
        case("encoded letter in the name", "/private/%73ecret.txt"),
        case("encoded dot in the name", "/private/secret%2etxt"),
        case("trailing NUL", "/private/secret.txt%00"),
        case("NUL before an extension", "/private/secret.txt%00.png"),
        case("invalid UTF-8 then dot-dot", "/private/%ff/../secret.txt"),
        case("trailing dot on the prefix", "/private./secret.txt"),
        case("trailing encoded space on the prefix", "/private%20/secret.txt"),
        case("path parameter on the prefix", "/private;x/secret.txt"),
        case("path parameter on the name", "/private/secret.txt;x"),
        case("Tomcat-style dot-dot", "/private/public/..;/secret.txt"),
        case("encoded Tomcat-style dot-dot", "/private/public/%2e%2e;/secret.txt"),
        case("empty signature", "/private/secret.txt?sl_kid=1&sl_exp=9999999999&sl_sig="),
        case("trailing slash", "/private/secret.txt/"),
        case("trailing dot segment", "/private/secret.txt/."),
        case("via the prefix boundary", "/private-x/../private/secret.txt"),
        case("public exception dot then dot-dot", "/private/public/./../secret.txt"),
        case("public exception encoded slashes", "/private/public%2f..%2fsecret.txt"),
        case("public exception encoded dot-dot slash", "/private/public/%2e%2e%2fsecret.txt"),
        case("two climbs back into private", "/private/public/../../private/secret.txt"),
        case("encoded two climbs", "/private/public/%2e%2e/%2e%2e/private/secret.txt"),
        case("absolute-form target", "http://localhost/private/secret.txt"),
        case("absolute-form with another host", "http://evil.example/private/secret.txt"),
        case("overlong UTF-8 slash", "/private/public/..%c0%afsecret.txt"),
        case("unicode full-width dot-dot", "/private/public/%ef%bc%8e%ef%bc%8e/secret.txt"),
    ];
    cases.push(Case {
        name: "another file's signature",
        target: format!("/private/secret.txt?{other_query}").into_bytes(),
    });
    cases.push(Case {
        name: "another file's link with a climb appended",
        target: format!("/private/other.txt/../secret.txt?{other_query}").into_bytes(),
    });
    cases.push(Case {
        name: "another file's link with an encoded climb",
        target: format!("/private/other.txt/%2e%2e/secret.txt?{other_query}").into_bytes(),
    });
    cases.push(Case {
        name: "raw invalid UTF-8 byte",
        target: b"/private/\xff/../secret.txt".to_vec(),
    });
    assert!(cases.len() >= 40);

    for case in &cases {
        let (status, response) = raw_get(addr, &case.target).await;
        assert!(
            !response.contains(PRIVATE_MARKER),
            "{}: the private bytes leaked ({status})",
            case.name
        );
        assert!(
            matches!(status, 400 | 403 | 404 | 410),
            "{}: unexpected status {status}",
            case.name
        );
    }
}

#[tokio::test]
async fn valid_links_and_public_paths_still_work() {
    let (addr, signer, _root) = start_server().await;
    let link = signer.sign("/private/secret.txt").unwrap();
    let (status, response) = raw_get(addr, link.as_bytes()).await;
    assert_eq!(status, 200);
    assert!(response.contains(PRIVATE_MARKER));
    assert!(response
        .to_ascii_lowercase()
        .contains("cache-control: private"));
    assert!(response
        .to_ascii_lowercase()
        .contains("referrer-policy: no-referrer"));

    // The same link with the path escaped another way reaches the same file; with dot
    // segments it is refused, since a router may already have acted on the raw path.
    let respelled = link.replace("/private/secret.txt", "/private/%73ecret.txt");
    let (status, response) = raw_get(addr, respelled.as_bytes()).await;
    assert_eq!(status, 200);
    assert!(response.contains(PRIVATE_MARKER));
    let reshaped = link.replace("/private/secret.txt", "/private/./x/../secret.txt");
    let (status, response) = raw_get(addr, reshaped.as_bytes()).await;
    assert_eq!(status, 400);
    assert!(!response.contains(PRIVATE_MARKER));

    for (target, body) in [
        ("/index.html", "public page"),
        ("/static/app.js", "public script"),
        ("/private/public/logo.txt", "public logo"),
        ("/static/../index.html", "public page"),
    ] {
        let (status, response) = raw_get(addr, target.as_bytes()).await;
        assert_eq!(status, 200, "{target}");
        assert!(response.ends_with(body), "{target}: {response}");
    }
}
