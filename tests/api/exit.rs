//! The process's way out. OpenSSL, initialised by libpq's first TLS connection, registers
//! `OPENSSL_cleanup` to run at exit, and that frees its global state under any thread still
//! using it: a PostgreSQL run of this suite died with SIGSEGV after every test had passed.
//! `masthead::db::establish_pg` initialises OpenSSL first, without that exit handler.
//!
//! The check runs in a process of its own (this test binary again, running only
//! `openssl_exit_probe`), because what it looks at happens once per process, at its end.

use std::ffi::c_int;
use std::process::Command;

const MARK: &str = "OPENSSL_cleanup ran at exit";

extern "C" {
    /// OpenSSL's own list of functions for `OPENSSL_cleanup` to call: run only if it runs.
    fn OPENSSL_atexit(handler: extern "C" fn()) -> c_int;
}

extern "C" fn report_cleanup() {
    eprintln!("{MARK}");
}

/// Runs the probe in a new process; `connect_first` says whether it opens (tries to open) a
/// PostgreSQL connection through `establish_pg` before doing what libpq does.
fn probe(connect_first: bool) -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "exit::openssl_exit_probe",
            "--nocapture",
        ])
        .env("PROBE_CONNECT_FIRST", if connect_first { "1" } else { "0" })
        .output()
        .expect("the probe runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "the probe failed: {stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 passed"),
        "the probe did not run"
    );
    stderr
}

#[test]
fn a_process_that_connected_to_postgres_leaves_openssl_alone_at_exit() {
    assert!(
        !probe(true).contains(MARK),
        "OPENSSL_cleanup is registered to run at exit"
    );
    // The probe sees it when nothing initialised OpenSSL before libpq's way of doing it.
    assert!(
        probe(false).contains(MARK),
        "the probe cannot see OPENSSL_cleanup"
    );
}

/// Not a test of its own: the process the test above starts.
#[test]
#[ignore = "run in a process of its own by a_process_that_connected_to_postgres_leaves_openssl_alone_at_exit"]
fn openssl_exit_probe() {
    if std::env::var("PROBE_CONNECT_FIRST").as_deref() == Ok("1") {
        // Nothing listens on port 1: the connection fails, after OpenSSL's initialisation.
        let refused = masthead::db::establish_pg("postgres://postgres@127.0.0.1:1/none");
        assert!(refused.is_err());
    }
    // SAFETY: plain OpenSSL calls on a context this function owns and frees; the handler is a
    // function that lives as long as the process.
    unsafe {
        // What libpq does on its first TLS connection (`initialize_SSL`).
        let context = openssl_sys::SSL_CTX_new(openssl_sys::TLS_method());
        assert!(!context.is_null());
        openssl_sys::SSL_CTX_free(context);
        assert_eq!(OPENSSL_atexit(report_cleanup), 1);
    }
}
