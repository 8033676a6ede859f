//! The RAG card at scale: 1,000 synthetic Markdown files (mixed English and Chinese, ten
//! sections and a title each, 11,000 chunks) indexed into a fresh knowledge base, then 500 queries
//! of 3-8 words each, half English and half Chinese, top 3 with the stale-file check.
//!
//! `cargo run --release --example bench_rag` (or `just bench-rag`) prints the chunk count,
//! the indexing time, a no-change re-index and query p50/p95.

use std::fmt::Write as _;
use std::time::Instant;
use tunedeck::rag::{self, KnowledgeBase};
use tunedeck::rng::SplitMix64;

const FILES: usize = 1000;
const SECTIONS: usize = 10;
const QUERIES: usize = 500;

const EN: &[&str] = &[
    "request",
    "handler",
    "password",
    "token",
    "session",
    "database",
    "query",
    "parameter",
    "upload",
    "directory",
    "buffer",
    "length",
    "overflow",
    "redirect",
    "cookie",
    "header",
    "server",
    "client",
    "validate",
    "escape",
    "encode",
    "hash",
    "cipher",
    "random",
    "secret",
    "config",
    "deploy",
    "cache",
    "timeout",
    "retry",
    "schema",
    "migration",
    "index",
    "worker",
    "queue",
    "thread",
    "mutex",
    "socket",
    "parser",
    "template",
    "render",
    "module",
    "release",
    "build",
    "test",
    "review",
    "audit",
    "policy",
    "role",
    "account",
    "invoice",
    "order",
    "payment",
    "report",
    "metric",
    "latency",
    "throughput",
    "memory",
    "file",
    "path",
];
const ZH: &[&str] = &[
    "请求",
    "处理",
    "密码",
    "令牌",
    "会话",
    "数据库",
    "查询",
    "参数",
    "上传",
    "目录",
    "缓冲区",
    "长度",
    "溢出",
    "重定向",
    "服务器",
    "客户端",
    "验证",
    "转义",
    "编码",
    "哈希",
    "加密",
    "随机数",
    "密钥",
    "配置",
    "部署",
    "缓存",
    "超时",
    "重试",
    "迁移",
    "索引",
    "队列",
    "线程",
    "解析器",
    "模板",
    "渲染",
    "模块",
    "发布",
    "构建",
    "测试",
    "审查",
    "审计",
    "策略",
    "角色",
    "账户",
    "发票",
    "订单",
    "支付",
    "报告",
    "指标",
    "延迟",
    "吞吐量",
    "内存",
    "文件",
    "路径",
];

fn word<'a>(rng: &mut SplitMix64, list: &[&'a str]) -> &'a str {
    list[rng.below(list.len() as u64) as usize]
}

/// A sentence of 8-16 words, English or Chinese.
fn sentence(rng: &mut SplitMix64, chinese: bool) -> String {
    let n = 8 + rng.below(9) as usize;
    let words: Vec<&str> = (0..n)
        .map(|_| word(rng, if chinese { ZH } else { EN }))
        .collect();
    if chinese {
        format!("{}。", words.concat())
    } else {
        format!("The {}.", words.join(" "))
    }
}

fn document(rng: &mut SplitMix64, n: usize) -> String {
    let mut md = format!("# Runbook {n} · 运维手册 {n}\n\n");
    for s in 0..SECTIONS {
        let _ = writeln!(md, "## {} {} {s}\n", word(rng, EN), word(rng, ZH));
        for p in 0..3 {
            let para: Vec<String> = (0..2).map(|_| sentence(rng, (s + p) % 2 == 1)).collect();
            let _ = writeln!(md, "{}\n", para.join(" "));
        }
    }
    md
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() -> anyhow::Result<()> {
    let docs = tempfile::tempdir()?;
    let exp = tempfile::tempdir()?;
    let mut rng = SplitMix64::new(7);
    for n in 0..FILES {
        std::fs::write(
            docs.path().join(format!("doc{n:04}.md")),
            document(&mut rng, n),
        )?;
    }
    let dirs = [docs.path().to_path_buf()];
    let t = Instant::now();
    let r = rag::index(exp.path(), &dirs)?;
    let index_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let again = rag::index(exp.path(), &dirs)?;
    let reindex_s = t.elapsed().as_secs_f64();
    assert_eq!(again.chunks_written, 0);

    let kb = KnowledgeBase::open(exp.path())?;
    let mut times = Vec::with_capacity(QUERIES);
    let (mut en, mut zh) = (Vec::new(), Vec::new());
    for q in 0..QUERIES {
        let n = 3 + rng.below(6) as usize;
        let list = if q % 2 == 0 { EN } else { ZH };
        let words: Vec<&str> = (0..n).map(|_| word(&mut rng, list)).collect();
        let question = words.join(if q % 2 == 0 { " " } else { "" });
        let t = Instant::now();
        let hits = kb.search(&question, rag::TOP_K)?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        times.push(ms);
        if q % 2 == 0 {
            en.push(ms)
        } else {
            zh.push(ms)
        }
        assert!(!hits.is_empty(), "{question}");
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{} files, {} chunks indexed in {index_s:.2} s; re-index with no change {reindex_s:.2} s",
        FILES, r.total_chunks
    );
    println!(
        "{QUERIES} queries (top {}): p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        rag::TOP_K,
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        times[times.len() - 1]
    );
    for (name, mut t) in [("English", en), ("Chinese", zh)] {
        t.sort_by(f64::total_cmp);
        println!(
            "  {name}: p50 {:.2} ms, p95 {:.2} ms",
            percentile(&t, 0.5),
            percentile(&t, 0.95)
        );
    }
    Ok(())
}
