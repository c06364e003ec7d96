//! Input no one means to write: empty, punctuation, other scripts, markup, 64 KiB. `understand`
//! must not panic, must stay fast, and its blueprint must pass `check`.

use super::super::{Understanding, check, understand};
use super::understood;
use appgen_crd::MAX_PROMPT_CHARS;
use std::time::{Duration, Instant};

fn checked(prompt: &str) -> Understanding {
    let understanding = understand(prompt);
    assert_eq!(check(&understanding.blueprint), Ok(()), "{prompt:?}");
    understanding
}

#[test]
fn prompts_without_words_fall_back_to_one_item() {
    for prompt in [
        "",
        " ",
        "?!...",
        "\n\n- \n* \n1.",
        "()",
        "((((",
        ")))",
        ":::",
        ",,,",
        "🎉🚀✨",
        "\u{0}\u{1}\u{7f}\u{200b}",
    ] {
        let understanding = checked(prompt);
        assert!(understanding.fell_back, "{prompt:?}");
        assert_eq!(
            understood(prompt),
            ["Item: name text!, notes longText"],
            "{prompt:?}"
        );
        assert!(
            understanding
                .notes
                .iter()
                .any(|n| n.contains("Found no entities")),
            "{prompt:?}"
        );
    }
}

#[test]
fn other_scripts_give_a_checked_blueprint() {
    for prompt in [
        "تطبيق لإدارة المهام: كل مهمة لها عنوان وتاريخ",
        "אפליקציה למשימות עם כותרת ותאריך",
        "一个待办事项应用，每个任务都有标题和截止日期",
        "タスク管理アプリ：各タスクにはタイトルと期限があります",
        "Приложение для задач: у каждой задачи есть название и срок",
        "Tâches : titre, échéance, priorité (basse, haute)",
        "Books have a title 📚 and an author ✍️, and a rating ⭐⭐⭐",
        "Z\u{0351}\u{0360}a\u{0334}l\u{0338}g\u{0335}o tasks have a t\u{0301}itle",
        "\u{202e}sksat evah a eltit\u{202c} and books have an author",
    ] {
        let understanding = checked(prompt);
        assert!(!understanding.blueprint.entities.is_empty());
    }
    assert_eq!(
        understood("Books have a title 📚 and an author ✍️"),
        ["Book: title text!, author text"]
    );
    assert_eq!(
        understood("Tâches : titre, échéance"),
        ["Tach: titre text!, echeance text"]
    );
}

#[test]
fn words_that_look_like_paths_or_code_never_reach_names() {
    let prompt = "Files have a ../../etc/passwd, a C:\\Windows\\system32 path, a <script>alert(1)</script> and a \
                  name.with.dots. ../.. have a `rm -rf /` and a ${PATH}. __proto__ has a constructor.";
    let understanding = checked(prompt);
    for entity in &understanding.blueprint.entities {
        let names = std::iter::once(&entity.name).chain(entity.fields.iter().map(|f| &f.name));
        for name in names {
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric()), "{name}");
        }
    }
}

#[test]
fn a_prompt_over_the_limit_is_read_up_to_the_limit_and_says_so() {
    let prompt = format!("Tasks have a title. {}", "x".repeat(MAX_PROMPT_CHARS));
    let understanding = checked(&prompt);
    assert_eq!(understood(&prompt), ["Task: title text!"]);
    assert!(
        understanding
            .notes
            .iter()
            .any(|n| n.contains("only the start was read"))
    );
}

/// Every kind of 64 KiB prompt: sentences, one long word, one long sentence, deep parentheses,
/// endless lists, bullets, and the worst case for each step.
fn big_prompts() -> Vec<(&'static str, String)> {
    let fill = |unit: &str| unit.repeat(MAX_PROMPT_CHARS / unit.chars().count());
    vec![
        (
            "sentences",
            fill("Each book has a title, an author, a rating from 1 to 5 and a status (read, unread). "),
        ),
        (
            "distinct entities",
            (0..4000)
                .map(|i| format!("Thing{i}s have a name{i}. "))
                .collect::<String>(),
        ),
        ("one word", fill("a")),
        ("one sentence", fill("tasks have a title and ")),
        ("one field phrase", format!("Tasks have {}", fill("word "))),
        (
            "one field phrase with colons",
            format!("Tasks have {}", fill("word: ")),
        ),
        ("one entity list", format!("Track {}", fill("books "))),
        ("parentheses", fill("(")),
        ("closed parentheses", fill("(a, b) ")),
        ("commas", fill("a, ")),
        ("one of", fill("a status which is one of a, b or c and ")),
        ("bullets", fill("- title\n")),
        ("headers", fill("Books:\n- title\n")),
        ("short lines", fill("x\n")),
        ("anchors", fill("with has have with ")),
        ("nouns before anchors", fill("books books books books has ")),
        ("tracking", fill("track ")),
        ("colons", fill("books: ")),
        ("emoji", fill("🎉")),
        ("arabic", fill("مهمة ")),
        ("newlines", fill("\n")),
    ]
}

/// Release builds (`cargo test --release`) must stay under 50 ms, the best of three runs, since
/// other work on the machine only adds time. Debug builds are several times slower, so they get
/// one run and more room, which still catches anything quadratic: that would take minutes.
#[test]
fn sixty_four_kib_prompts_finish_fast() {
    let limit = if cfg!(debug_assertions) {
        Duration::from_secs(3)
    } else {
        Duration::from_millis(50)
    };
    for (kind, prompt) in big_prompts() {
        let mut best = Duration::MAX;
        for _ in 0..if cfg!(debug_assertions) { 1 } else { 3 } {
            let start = Instant::now();
            let understanding = understand(&prompt);
            best = best.min(start.elapsed());
            assert_eq!(check(&understanding.blueprint), Ok(()), "{kind}");
        }
        println!("{kind}: {best:?}");
        assert!(best < limit, "{kind}: {best:?}");
    }
}
