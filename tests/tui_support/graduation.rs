//! Set-up for the Eval and Chat panes' tests: a finished run on disk, an `eval.json` built
//! with the real scoring rules (English and Chinese answers), and scripted job events.

use std::path::Path;

use tunedeck::eval::results::{Answer, EvalReport, Item, Settings, Timing, Unsealing, VERSION};
use tunedeck::eval::verdict::{graduated, judge, score};
use tunedeck::eval::{Part, Side};
use tunedeck::tui::App;
use tunedeck::worker::jobs::{JobCommand, JobEvent, JobId};

/// `runs/<name>` with a short training log and an adapter file, as a finished run leaves it.
pub fn finished_run(dir: &Path, name: &str) {
    let run = dir.join("runs").join(name);
    std::fs::create_dir_all(run.join("adapter")).unwrap();
    std::fs::write(run.join("adapter/adapter_model.safetensors"), "").unwrap();
    let log: String = (1..=10)
        .map(|s| {
            format!(
                "{{\"current_steps\":{s},\"total_steps\":10,\"loss\":{},\"lr\":0.0003,\"epoch\":1.0,\"elapsed_time\":{s}.0,\"throughput\":640.0,\"total_tokens\":{}}}\n",
                2.0 - 0.1 * s as f64,
                s * 640
            )
        })
        .collect();
    std::fs::write(run.join("trainer_log.jsonl"), log).unwrap();
}

fn answer(part: Part, text: &str, reference: &str, kw: &[&str], ended: bool) -> Answer {
    let kw: Vec<String> = kw.iter().map(|s| s.to_string()).collect();
    Answer {
        text: text.into(),
        tokens: text.chars().count() / 4 + 1,
        ended,
        scores: score(part, text, ended, reference, &kw, None),
    }
}

fn item(part: Part, prompt: &str, reference: &str, kw: &[&str], base: &str, adapter: &str) -> Item {
    Item {
        source: format!("{}.jsonl:1", part.name()),
        prompt: prompt.into(),
        reference: reference.into(),
        must_include: kw.iter().map(|s| s.to_string()).collect(),
        base: answer(part, base, reference, kw, true),
        adapter: answer(part, adapter, reference, kw, true),
        agreement: tunedeck::eval::metrics::rouge_l(adapter, base),
    }
}

const SQLI: &str = "Severity: high\nVulnerability: SQL injection (CWE-89)\nExplanation: the id is concatenated into the query.\nFix: use a parameterised query.";
const XSS: &str = "Severity: medium\nVulnerability: cross-site scripting (CWE-79)\nExplanation: the name is written into the page unescaped.\nFix: escape it with html.escape.";

/// A three-part report: the adapter passes the exam and interview, the guard shows drift;
/// one guard question is in Chinese. Graduated when `guard_passes`.
pub fn sample_report(run: &str, guard_passes: bool) -> EvalReport {
    let exam = vec![
        item(
            Part::Exam,
            "Review: q = \"SELECT * FROM t WHERE id=\" + id",
            SQLI,
            &[],
            "This code looks fine to me.",
            SQLI,
        ),
        item(
            Part::Exam,
            "Review: out.write(\"<p>\" + name)",
            XSS,
            &[],
            "It writes a paragraph.",
            XSS,
        ),
    ];
    let interview = vec![
        item(Part::Interview, "Review: os.system(\"ping \" + host)", "Severity: high\nVulnerability: OS command injection (CWE-78)\nFix: pass a list to subprocess.run.", &[], "The code pings a host.", "Severity: high\nVulnerability: OS command injection (CWE-78)\nFix: pass a list to subprocess.run."),
        item(Part::Interview, "Review: pickle.loads(request.data)", "Severity: high\nVulnerability: insecure deserialisation (CWE-502)\nFix: use json.", &[], "It loads data.", "Severity: high\nVulnerability: insecure deserialisation (CWE-502)\nFix: use json."),
    ];
    let guard_adapter = if guard_passes {
        "Beat the eggs, fry the tomato, then mix the egg back in."
    } else {
        "Severity: low\nVulnerability: none"
    };
    let guard = vec![
        item(
            Part::Guard,
            "How do I make tomato and egg stir-fry?",
            "Scramble the eggs, stir-fry the tomato, combine.",
            &["egg", "tomato"],
            "Beat the eggs and fry the tomato, then combine them.",
            guard_adapter,
        ),
        item(
            Part::Guard,
            "西红柿炒鸡蛋怎么做？",
            "先把鸡蛋炒熟盛出，再炒西红柿，最后把鸡蛋放回去一起翻炒。",
            &["鸡蛋", "西红柿"],
            "先炒鸡蛋，再炒西红柿，然后混合在一起，加盐调味即可。",
            if guard_passes {
                "鸡蛋打散炒熟，西红柿切块炒出汁，再放入鸡蛋翻炒。"
            } else {
                "严重程度：低"
            },
        ),
    ];
    let parts = vec![
        judge(Part::Exam, 0.8, exam),
        judge(Part::Interview, 0.6, interview),
        judge(Part::Guard, 0.8, guard),
    ];
    let mut parts = parts;
    for p in &mut parts {
        if p.part == Part::Guard {
            p.base.perplexity = Some(3.1);
            p.adapter.perplexity = Some(3.4);
        }
    }
    EvalReport {
        version: VERSION,
        created: "2025-04-03T09:12:45Z".into(),
        run: Some(run.into()),
        model: "models/smollm2-135m-instruct".into(),
        adapter: format!("runs/{run}/adapter"),
        data: "data".into(),
        guard: "datasets/guard/general.jsonl".into(),
        format: None,
        settings: Settings {
            template: "chatml".into(),
            max_new_tokens: 192,
            temperature: 0.0,
            top_p: 1.0,
            seed: 42,
            exam_size: 2,
            device: "cpu (2 threads)".into(),
        },
        unsealed: Unsealing {
            reason: format!("interview of run {run}"),
            log: "data/unsealed.log".into(),
            test_sha256: "00".into(),
        },
        graduated: graduated(&parts),
        parts,
        timing: Timing {
            seconds: 84.0,
            answers: 12,
            answers_per_minute: 12.0 * 60.0 / 84.0,
            tokens_per_second: 21.5,
        },
        blind: None,
        blind_earlier: Vec::new(),
        rag: None,
    }
}

/// Writes `report` as `runs/<run>/eval.json`.
pub fn write_report(dir: &Path, run: &str, report: &EvalReport) {
    report
        .save(&dir.join("runs").join(run).join("eval.json"))
        .unwrap();
}

/// The one job command the app queued.
pub fn one_job(app: &mut App) -> JobCommand {
    let mut jobs = app.take_jobs();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    jobs.remove(0)
}

/// The job id of a command.
pub fn job_of(cmd: &JobCommand) -> JobId {
    match cmd {
        JobCommand::Eval { job, .. }
        | JobCommand::Chat { job, .. }
        | JobCommand::Report { job, .. }
        | JobCommand::Export { job, .. }
        | JobCommand::CheckDataset { job, .. }
        | JobCommand::SplitDataset { job, .. } => *job,
        JobCommand::Shutdown => panic!("no job in Shutdown"),
    }
}

/// Streams `text` word by word as `side`'s answer, then ends it at end of turn.
pub fn stream(app: &mut App, job: JobId, side: Side, text: &str) {
    for piece in text.split_inclusive(' ') {
        assert!(app.on_job(JobEvent::Token {
            job,
            side,
            text: piece.into()
        }));
    }
    assert!(app.on_job(JobEvent::Replied {
        job,
        side,
        tokens: text.split(' ').count(),
        stop: tunedeck::model::generate::StopReason::EndOfTurn
    }));
}
