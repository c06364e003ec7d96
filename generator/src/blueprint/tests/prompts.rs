//! Prompts and exactly what they must be understood as.

use super::{understand, understood};

/// The five prompts of the issue, each with its title and entities.
#[test]
fn the_issue_examples_come_out_exactly_right() {
    let cases: [(&str, &str, &[&str]); 5] = [
        (
            "A todo app where tasks have a title, a due date, a priority (low, medium, high) and a done flag.",
            "Todo",
            &["Task: title text!, dueDate date, priority enum(low, medium, high), done boolean"],
        ),
        (
            "A recipe manager: recipes with a name, ingredients, cooking time in minutes and a category. Users can \
             also plan meals: each meal plan has a date and a recipe.",
            "Recipe Manager",
            &[
                "Recipe: name text!, ingredients longText, cookingTime integer, category text",
                "MealPlan: date date, recipe -> Recipe",
            ],
        ),
        (
            "Track my book collection. Each book has a title, author, ISBN, number of pages, whether I've read it, \
             and a rating from 1 to 5.",
            "Book Collection",
            &["Book: title text!, author text, isbn text, pages integer, read boolean, rating integer 1..5"],
        ),
        (
            "An expense tracker with expenses (amount, date, category, note) and monthly budgets (month, limit).",
            "Expense Tracker",
            &[
                "Expense: amount money, date date, category text!, note longText",
                "Budget: month text!, limit money",
            ],
        ),
        (
            "A small CRM for a freelancer: clients with name, email, phone and company; projects belong to a client \
             and have a name, a deadline, a budget and a status (proposal, active, done).",
            "CRM",
            &[
                "Client: name text!, email email, phone text, company text",
                "Project: client -> Client!, name text!, deadline date, budget money, status enum(proposal, active, done)",
            ],
        ),
    ];
    for (prompt, title, entities) in cases {
        let understanding = understand(prompt);
        assert_eq!(understanding.blueprint.title.as_deref(), Some(title), "{prompt}");
        assert_eq!(understood(prompt), entities, "{prompt}");
        assert!(!understanding.fell_back, "{prompt}");
    }
}
