//! `[handlers.*]`: what loads, and what stops start-up with a message naming the handler.

use super::*;

const ENDPOINT: &str = "[[endpoints]]\nname = \"E\"\naddress = \"/e\"\nhandlers = [\"h\"]\n";

fn load_handler(handler: &str, env: &Env) -> Result<Loaded, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iflowd.toml");
    std::fs::write(&path, format!("{ENDPOINT}\n[handlers.h]\n{handler}")).unwrap();
    load(Some(&path), env)
}

fn error_of(handler: &str) -> String {
    match load_handler(handler, &Env::default()) {
        Ok(_) => panic!("expected an error for:\n{handler}"),
        Err(e) => e.to_string(),
    }
}

fn env_with(vars: &[(&str, &str)]) -> Env {
    Env {
        vars: vars.iter().copied().collect(),
        ..Env::default()
    }
}

#[test]
fn a_forward_loads_with_defaults_and_expands_variables_from_the_env() {
    let loaded = load_handler(
        r#"type = "forward"
url = "https://hr.example/hooks/manager"
headers = { "X-Api-Key" = "${HR_API_KEY}" }
auth = { type = "basic", user = "iflowd", password = "pre-${HR_PASSWORD}" }
when = { kind = "change_in_manager", key.userId = "1001" }
"#,
        &env_with(&[("HR_API_KEY", "k-1"), ("HR_PASSWORD", "pw")]),
    )
    .unwrap();
    let Some(HandlerConfig::Forward(forward)) = loaded.config.handlers.get("h") else {
        panic!("a forward handler");
    };
    assert_eq!(forward.url.as_str(), "https://hr.example/hooks/manager");
    assert_eq!(forward.body, ForwardBody::Json);
    assert_eq!(forward.headers["X-Api-Key"].expose(), "k-1");
    let Some(ForwardAuth::Basic { password, .. }) = &forward.auth else {
        panic!("basic auth");
    };
    assert_eq!(password.expose(), "pre-pw");
    assert_eq!((forward.timeout_ms, forward.retries), (10_000, 2));
    let when = forward.when.as_ref().unwrap();
    assert_eq!(when.kind, [crate::event::EventKind::ChangeInManager]);
    assert_eq!(when.key["userId"], "1001");
    assert!(
        !format!("{forward:?}").contains("k-1"),
        "secrets stay out of Debug"
    );
}

#[test]
fn every_variable_that_is_not_set_is_an_error_naming_its_key() {
    let handler = "type = \"forward\"\nurl = \"http://127.0.0.1:9/x\"\nheaders = { \"X-Api-Key\" = \"${HR_API_KEY}\" }\nauth = { type = \"bearer\", token = \"${HR_TOKEN}\" }\n";
    assert_eq!(
        error_of(handler).split_once(": ").unwrap().1,
        "2 problems:\n  - handlers.h.headers.X-Api-Key: the environment variable HR_API_KEY is not set\n  - handlers.h.auth.token: the environment variable HR_TOKEN is not set"
    );
    let one = "type = \"forward\"\nurl = \"http://127.0.0.1:9/x\"\nheaders = { \"X-Api-Key\" = \"${HR_API_KEY}\" }\n";
    assert_eq!(
        error_of(one).split_once(": ").unwrap().1,
        "handlers.h.headers.X-Api-Key: the environment variable HR_API_KEY is not set"
    );
    assert!(load_handler(one, &env_with(&[("HR_API_KEY", "k")])).is_ok());
}

#[test]
fn bad_forward_settings_name_the_handler_and_the_key() {
    for (handler, expected) in [
        (
            "type = \"forward\"\nurl = \"ftp://hr.example/x\"\n",
            "handlers.h.url 'ftp://hr.example/x' is not an http:// or https:// URL",
        ),
        (
            "type = \"forward\"\nurl = \"hr.example/x\"\n",
            "handlers.h: relative URL without a base",
        ),
        (
            "type = \"forward\"\nurl = \"http://a/\"\nurll = 1\n",
            "handlers.h: unknown field `urll`, expected one of `url`, `body`, `headers`, `auth`, `timeout_ms`, `retries`, `backoff_ms`, `max_backoff_ms`, `when`",
        ),
        (
            "type = \"forward\"\nurl = \"http://a/\"\nbody = \"xml\"\n",
            "handlers.h: unknown variant `xml`, expected `json` or `soap`",
        ),
        (
            "type = \"forward\"\nurl = \"http://a/\"\nretries = 11\n",
            "handlers.h.retries is 11",
        ),
        (
            "type = \"forward\"\nurl = \"http://a/\"\nheaders = { \"Bad Header\" = \"x\" }\n",
            "handlers.h.headers: 'Bad Header' is not a valid header name",
        ),
        (
            "type = \"forward\"\nurl = \"http://a/\"\nauth = { type = \"bearer\", token = \"t\" }\nheaders = { Authorization = \"x\" }\n",
            "handlers.h: set either auth or an Authorization header",
        ),
        (
            "type = \"forwrd\"\n",
            "handlers.h: unknown variant `forwrd`, expected one of `log`, `jsonl`, `forward`, `nats`, `exec`, `fault`, `respond`",
        ),
    ] {
        let error = error_of(handler);
        assert!(error.contains(expected), "{error}\n  expected: {expected}");
    }
}

#[test]
fn bad_when_tables_name_the_handler() {
    for (when, expected) in [
        (
            "{ kind = \"change_in_mgr\" }",
            "handlers.h: unknown variant `change_in_mgr`, expected one of `change_in_manager`, `hire`, `rehire`, `termination`, `other`",
        ),
        (
            "{ kinds = \"hire\" }",
            "handlers.h: unknown field `kinds`, expected one of `kind`, `type`, `entity_type`, `key`, `param`",
        ),
        (
            "{ key = \"userId\" }",
            "handlers.h: invalid type: string \"userId\", expected a map",
        ),
    ] {
        let error = error_of(&format!("type = \"log\"\nwhen = {when}\n"));
        assert!(error.contains(expected), "{error}\n  expected: {expected}");
    }
    let loaded = load_handler(
        "type = \"log\"\nwhen = { kind = [\"hire\", \"rehire\"], type = \"*.Hire\", entity_type = \"EmpJob\", param.x = \"1\" }\n",
        &Env::default(),
    )
    .unwrap();
    let when = loaded.config.handlers["h"].when().unwrap().clone();
    assert_eq!(when.kind.len(), 2);
    assert!(when.event_type[0].matches("com.successfactors.Employment.AssignmentInformation.Hire"));
    assert!(
        !when.event_type[0].matches("com.successfactors.Employment.AssignmentInformation.ReHire")
    );
    assert_eq!(when.entity_type, ["EmpJob"]);
    assert_eq!(when.param["x"], "1");
}

#[test]
fn bad_exec_fault_and_respond_settings_name_the_handler() {
    for (handler, expected) in [
        ("type = \"exec\"\n", "handlers.h: missing field `command`"),
        (
            "type = \"exec\"\ncommand = []\n",
            "handlers.h.command is empty",
        ),
        (
            "type = \"exec\"\ncommand = [\"\"]\n",
            "handlers.h.command[0] (the program) is empty",
        ),
        (
            "type = \"exec\"\ncommand = [\"/nonexistent/on-event\"]\n",
            "handlers.h.command[0] '/nonexistent/on-event' cannot be used: No such file",
        ),
        (
            "type = \"exec\"\ncommand = [\"/\"]\n",
            "handlers.h.command[0] '/' is not a file",
        ),
        (
            "type = \"exec\"\ncommand = [\"true\"]\nworking_dir = \"/nonexistent\"\n",
            "handlers.h.working_dir '/nonexistent' is not a directory",
        ),
        (
            "type = \"exec\"\ncommand = \"/bin/true\"\n",
            "handlers.h: invalid type: string \"/bin/true\", expected a sequence",
        ),
        (
            "type = \"fault\"\nmode = \"explode\"\n",
            "handlers.h: unknown variant `explode`, expected one of `soap-fault`, `http-503`, `error-response`, `close`, `delay`",
        ),
        (
            "type = \"fault\"\nmode = \"delay\"\n",
            "handlers.h: mode \"delay\" needs delay_ms greater than 0",
        ),
        (
            "type = \"fault\"\nmode = \"close\"\npercent = 120.0\n",
            "handlers.h.percent is 120",
        ),
        (
            "type = \"fault\"\nmode = \"close\"\nerror_code = \"E1\"\n",
            "handlers.h: error_code and error_message only apply to mode \"error-response\"",
        ),
        ("type = \"respond\"\n", "handlers.h (respond) sets nothing"),
        (
            "type = \"respond\"\nstatus_details = \"{{externalEventID}}\"\n",
            "handlers.h: unknown template field {{externalEventID}}",
        ),
    ] {
        let error = error_of(handler);
        assert!(error.contains(expected), "{error}\n  expected: {expected}");
    }
}

#[test]
fn exec_env_values_expand_too() {
    let loaded = load_handler(
        "type = \"exec\"\ncommand = [\"/bin/true\"]\nenv = { TOKEN = \"${T}\" }\n",
        &env_with(&[("T", "secret")]),
    )
    .unwrap();
    let HandlerConfig::Exec(exec) = &loaded.config.handlers["h"] else {
        panic!("exec");
    };
    assert_eq!(exec.env["TOKEN"].expose(), "secret");
    assert!(exec.inherit_env);
}
