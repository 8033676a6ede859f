//! "Pick the card": four yes/no questions that lead to LoRA, RAG, LoRA+RAG or full
//! fine-tuning, following the method's decision path.

use serde::{Deserialize, Serialize};

/// The user's answers; `false` also stands for "not sure", which leads to the default, LoRA.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Answers {
    /// The answers depend on facts that change often, or must cite their sources.
    pub fresh_facts: bool,
    /// The model must learn a fixed behaviour, output format or style.
    pub fixed_behaviour: bool,
    /// There is a multi-GPU budget and more than 100k training records.
    pub big_budget: bool,
    /// Data must stay on your own machines, or running cost matters.
    pub on_prem_or_cost: bool,
}

impl Answers {
    /// The answer to `QUESTIONS[i]`; `None` past the last question.
    pub fn get(&self, i: usize) -> Option<bool> {
        let mut copy = *self;
        copy.get_mut(i).map(|a| *a)
    }

    /// The answer to `QUESTIONS[i]`, to change it; `None` past the last question.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut bool> {
        match QUESTIONS.get(i)?.key {
            "fresh_facts" => Some(&mut self.fresh_facts),
            "fixed_behaviour" => Some(&mut self.fixed_behaviour),
            "big_budget" => Some(&mut self.big_budget),
            "on_prem_or_cost" => Some(&mut self.on_prem_or_cost),
            _ => None,
        }
    }
}

/// One question of the decision helper, for the cockpit to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question {
    /// The [`Answers`] field it sets.
    pub key: &'static str,
    /// The question in English.
    pub en: &'static str,
    /// The question in Chinese.
    pub zh: &'static str,
}

/// The questions, in the order to ask them.
pub const QUESTIONS: [Question; 4] = [
    Question {
        key: "fresh_facts",
        en: "Do the answers depend on facts that change often, or must they cite sources?",
        zh: "答案是否依赖经常变化的事实，或必须注明出处？",
    },
    Question {
        key: "fixed_behaviour",
        en: "Must the model learn a fixed behaviour, output format or style?",
        zh: "模型是否需要学会固定的行为、输出格式或风格？",
    },
    Question {
        key: "big_budget",
        en: "Do you have a multi-GPU budget and more than 100,000 training records?",
        zh: "你是否有多卡 GPU 预算，并且有超过 10 万条训练数据？",
    },
    Question {
        key: "on_prem_or_cost",
        en: "Must the data stay on your own machines, or does running cost matter?",
        zh: "数据是否必须留在自己的机器上，或者运行成本很重要？",
    },
];

/// The method's four cards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Card {
    /// A pluggable "skill card": a few MB, base model untouched.
    Lora,
    /// A "secretary" that looks facts up at answer time; no training.
    Rag,
    /// LoRA for the behaviour, RAG for the facts: the best combination.
    LoraRag,
    /// Every weight retrained: heavy, risks catastrophic forgetting.
    Full,
}

impl Card {
    /// Display name, the same in both languages.
    pub fn name(self) -> &'static str {
        match self {
            Card::Lora => "LoRA",
            Card::Rag => "RAG",
            Card::LoraRag => "LoRA + RAG",
            Card::Full => "Full fine-tuning",
        }
    }
}

/// A card and why, in English and Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recommendation {
    /// The card to play.
    pub card: Card,
    /// Why, in English.
    pub reason_en: String,
    /// Why, in Chinese.
    pub reason_zh: String,
}

/// The method's decision path: fresh facts need retrieval (with LoRA when the behaviour is
/// fixed too); full fine-tuning only with near-unlimited resources and no cost constraint;
/// otherwise LoRA, the right card in 90% of cases.
pub fn recommend(a: &Answers) -> Recommendation {
    let (card, en, zh) = if a.fresh_facts && a.fixed_behaviour {
        (
            Card::LoraRag,
            "LoRA teaches the fixed behaviour and format; RAG supplies the changing facts with their sources. The two together are the method's best combination. Next: `tunedeck rag index EXPERIMENT DOCS...` builds the knowledge base, `r` in the Chat pane answers with sources, and `tunedeck eval --rag` measures what each card adds.",
            "LoRA 负责固定的行为和格式，RAG 负责提供不断变化的事实及其出处。两者结合是最佳组合。下一步：用 `tunedeck rag index EXPERIMENT DOCS...` 建立知识库，在对话面板按 `r` 带出处回答，用 `tunedeck eval --rag` 衡量各自的贡献。",
        )
    } else if a.fresh_facts {
        (
            Card::Rag,
            "Facts that change or need sources belong in a retrieval step, not in weights: RAG needs no training, and updating the documents updates the answers. Next: `tunedeck rag index EXPERIMENT DOCS...`, then `tunedeck rag query` or `tunedeck chat --rag EXPERIMENT`.",
            "经常变化或需要出处的事实应该交给检索，而不是写进权重：RAG 无需训练，更新文档即可更新答案。下一步：`tunedeck rag index EXPERIMENT DOCS...`，然后 `tunedeck rag query` 或 `tunedeck chat --rag EXPERIMENT`。",
        )
    } else if a.big_budget && !a.on_prem_or_cost {
        (
            Card::Full,
            "With a multi-GPU budget, 100k+ records and no cost limit, full fine-tuning is possible. It risks catastrophic forgetting and yields one large model: train a LoRA first and compare.",
            "有多卡预算、10 万条以上数据且不受成本限制时，可以考虑全参数微调。它容易灾难性遗忘，产出一个庞大的模型：建议先训练 LoRA 做对比。",
        )
    } else if a.on_prem_or_cost {
        (
            Card::Lora,
            "LoRA trains a few-MB skill card for a model that runs on your own machines, at 1-10% of the cost of retraining; the base model stays untouched.",
            "LoRA 只为可在自己机器上运行的模型训练一块几 MB 的技能卡，成本约为重新训练的 1%-10%，基础模型保持不变。",
        )
    } else if a.fixed_behaviour {
        (
            Card::Lora,
            "A fixed behaviour, format or style is exactly what a LoRA skill card teaches: a few MB, base model untouched.",
            "固定的行为、格式或风格正是 LoRA 技能卡擅长教的：只有几 MB，基础模型保持不变。",
        )
    } else {
        (
            Card::Lora,
            "LoRA is the right card in 90% of cases: cheap, a few MB, and the base model stays untouched. If the goal is only \"slightly more accurate answers\", try a better prompt first.",
            "90% 的情况下 LoRA 都是正确的选择：便宜、只有几 MB，基础模型保持不变。如果目标只是“回答更准确一点”，先试试优化提示词。",
        )
    };
    Recommendation {
        card,
        reason_en: en.into(),
        reason_zh: zh.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(fresh: bool, fixed: bool, budget: bool, cost: bool) -> Card {
        recommend(&Answers {
            fresh_facts: fresh,
            fixed_behaviour: fixed,
            big_budget: budget,
            on_prem_or_cost: cost,
        })
        .card
    }

    #[test]
    fn lora_is_the_default() {
        assert_eq!(recommend(&Answers::default()).card, Card::Lora);
        assert_eq!(card(false, true, false, false), Card::Lora);
        assert_eq!(card(false, false, false, true), Card::Lora);
    }

    #[test]
    fn fresh_facts_need_retrieval() {
        assert_eq!(card(true, false, false, false), Card::Rag);
        assert_eq!(card(true, false, true, true), Card::Rag);
        assert_eq!(card(true, true, false, false), Card::LoraRag);
        assert_eq!(card(true, true, true, false), Card::LoraRag);
    }

    #[test]
    fn full_fine_tuning_only_with_budget_and_no_cost_limit() {
        assert_eq!(card(false, true, true, false), Card::Full);
        assert_eq!(card(false, false, true, false), Card::Full);
        assert_eq!(card(false, true, true, true), Card::Lora);
    }

    #[test]
    fn each_question_has_its_own_answer() {
        let mut a = Answers::default();
        for i in 0..QUESTIONS.len() {
            *a.get_mut(i).unwrap() = true;
            let yes = (0..QUESTIONS.len()).filter(|&j| a.get(j) == Some(true));
            assert_eq!(yes.count(), i + 1, "question {i} shares a slot");
        }
        assert_eq!(a.get(QUESTIONS.len()), None);
        assert!(a.get_mut(QUESTIONS.len()).is_none());
    }

    #[test]
    fn every_case_explains_itself_in_both_languages() {
        for bits in 0..16u8 {
            let r = recommend(&Answers {
                fresh_facts: bits & 1 != 0,
                fixed_behaviour: bits & 2 != 0,
                big_budget: bits & 4 != 0,
                on_prem_or_cost: bits & 8 != 0,
            });
            assert!(!r.reason_en.is_empty() && !r.reason_zh.is_empty());
            // The retrieval cards point to the commands that play them.
            if matches!(r.card, Card::Rag | Card::LoraRag) {
                assert!(
                    r.reason_en.contains("tunedeck rag index"),
                    "{}",
                    r.reason_en
                );
                assert!(
                    r.reason_zh.contains("tunedeck rag index"),
                    "{}",
                    r.reason_zh
                );
            }
        }
        let keys: Vec<_> = QUESTIONS.iter().map(|q| q.key).collect();
        assert_eq!(
            keys,
            [
                "fresh_facts",
                "fixed_behaviour",
                "big_budget",
                "on_prem_or_cost"
            ]
        );
    }
}
