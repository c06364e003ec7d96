//! Renders an app from a blueprint file into a directory, to try the generated app by hand:
//!
//! ```sh
//! cargo run -p appgen-generator --example render_app -- blueprint.json out-dir [name] [title] [prompt]
//! cd out-dir && pnpm install && pnpm typecheck && pnpm build && pnpm test
//! ```
//!
//! Files already in the directory that the app does not have (node_modules, data) are left alone.

use std::path::Path;
use std::process::ExitCode;

use appgen_crd::Blueprint;
use appgen_generator::render::{AppInfo, render};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [blueprint, out, rest @ ..] = args.as_slice() else {
        eprintln!("usage: render_app <blueprint.json> <out-dir> [name] [title] [prompt]");
        return ExitCode::from(2);
    };
    match run(Path::new(blueprint), Path::new(out), rest) {
        Ok(count) => {
            println!("wrote {count} files to {out}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("render_app: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(blueprint: &Path, out: &Path, rest: &[String]) -> Result<usize, Box<dyn std::error::Error>> {
    let blueprint: Blueprint = serde_json::from_str(&std::fs::read_to_string(blueprint)?)?;
    let name = rest.first().map_or("app", String::as_str);
    let title = rest.get(1).map_or("", String::as_str);
    let prompt = rest.get(2).map_or("", String::as_str);
    let files = render(&blueprint, &AppInfo { name, title, prompt });
    for file in &files {
        let path = out.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, &file.contents)?;
    }
    Ok(files.len())
}
