"""The printed tables of ``benchmarks/tables.py``: medians per table, wins/ties/losses,
normalised scores, budgets kept and peak memory, from the raw runs."""

from __future__ import annotations

import pandas as pd

TOOLS = ("automl", "hgb", "flaml", "autogluon", "autogluon_best")
TIE = 0.002  # medians this close are a tie


def fmt(value: float, digits: int = 4) -> str:
    """A number, '-' when missing."""
    return "-" if pd.isna(value) else f"{value:.{digits}f}"


def markdown(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def medians(results: pd.DataFrame, value: str, tools: list[str]) -> pd.DataFrame:
    """Per table (rows, in order of appearance) and tool (columns): the median of ``value``
    over the splits with status ok."""
    ok = results[results["status"] == "ok"]
    table = ok.groupby(["table", "tool"])[value].median().unstack("tool") if len(ok) \
        else pd.DataFrame()
    return table.reindex(index=results["table"].unique(), columns=tools).astype(float)


def rank(scores: pd.Series, tool: str = "automl") -> str:
    """``tool``'s rank among the tools with a score: 1 + tools with a higher median."""
    present = scores.dropna()
    if tool not in present:
        return "-"
    return f"{1 + int((present > present[tool]).sum())}/{len(present)}"


def per_table(results: pd.DataFrame, tools: list[str]) -> str:
    """One row per table: each tool's median score (median fit seconds) and our rank."""
    score, seconds = medians(results, "score", tools), medians(results, "fit_s", tools)
    rows = []
    for table in score.index:
        first = results[results["table"] == table].iloc[0]
        failed = results[(results["table"] == table) & (results["status"] != "ok")]
        cells = [f"{fmt(score.at[table, t])} ({fmt(seconds.at[table, t], 1)} s)" for t in tools]
        rows.append([table, first["task"], str(first["n_rows"]), first["metric"], *cells,
                     rank(score.loc[table]) if "automl" in tools else "-",
                     ", ".join(f"{r.tool} {r.status}" for r in failed.itertuples()) or "0"])
    return markdown(["table", "task", "rows", "metric", *tools, "automl rank",
                     "failed fits"], rows)


def wins_ties_losses(results: pd.DataFrame, tools: list[str]) -> str:
    """``automl`` against each other tool, table by table, on median scores."""
    score = medians(results, "score", tools)
    rows = []
    for peer in tools:
        if peer == "automl":
            continue
        both = score[["automl", peer]].dropna()
        gain = both["automl"] - both[peer]
        rows.append([peer, str((gain > TIE).sum()), str((gain.abs() <= TIE).sum()),
                     str((gain < -TIE).sum()), f"{len(both)}/{len(score)}"])
    return markdown(["automl vs", "wins", "ties", "losses", "tables with both"], rows)


def normalised(results: pd.DataFrame, tools: list[str]) -> tuple[pd.Series, pd.Series, int]:
    """Mean over tables of (median - hgb) / (best median - hgb), per tool.

    A table where no tool beats HGB by more than ``TIE`` (HGB best or tied for best)
    has no gain to share out and is left out, as is one where HGB has no score; returns
    the means, the number of tables each mean is over, and how many tables were left out.
    """
    score = medians(results, "score", tools)
    best, hgb = score.max(axis=1), score["hgb"]
    usable = (best - hgb) > TIE
    norm = score[usable].sub(hgb[usable], axis=0).div((best - hgb)[usable], axis=0)
    return norm.mean(), norm.count(), int((~usable).sum())


def largest_table(results: pd.DataFrame) -> str:
    """The table with the most cells used (rows x feature columns)."""
    cells = results.assign(cells=results["n_rows"] * results["n_features"])
    return str(cells.sort_values("cells", kind="stable").iloc[-1]["table"])


def per_tool(results: pd.DataFrame, tools: list[str]) -> str:
    """Normalised score, fits within budget, outcomes and memory of every tool."""
    norm, used, left_out = normalised(results, tools) if "hgb" in tools \
        else (pd.Series(), pd.Series(), 0)
    largest = largest_table(results)
    rows = []
    for tool in tools:
        fits = results[results["tool"] == tool]
        limit = 1.05 * fits["budget"] + 2
        within = int((fits["fit_s"] <= limit).sum())
        big = fits[fits["table"] == largest]
        counts = fits["status"].value_counts()
        rows.append([tool, f"{fmt(norm.get(tool, float('nan')), 3)} ({used.get(tool, 0)})",
                     f"{within}/{len(fits)} ({100 * within / max(len(fits), 1):.0f}%)",
                     " / ".join(str(counts.get(s, 0)) for s in
                                ("ok", "error", "timeout", "crashed")),
                     f"{fmt(big['peak_rss_mb'].median(), 0)} / "
                     f"{fmt(big['peak_pss_mb'].median(), 0)}",
                     fmt(fits["peak_rss_mb"].max(), 0)])
    legend = (f"\nNormalised score: per table (median - HGB) / (best tool's median - HGB), "
              "1 = the best tool on that table, 0 = HGB, averaged over tables; a table "
              f"where no tool beats HGB by more than {TIE} (or HGB failed) is left out "
              f"({left_out} here); a small best - HGB gap magnifies the others' distances. "
              "Within budget: fit seconds at most 1.05 x budget + 2 s. "
              f"Memory: peak summed RSS / PSS of the fit's process tree, MB, median over "
              f"the splits of {largest} (the largest table run, by rows x columns).")
    return markdown(["tool", "mean normalised score (tables)", "fits within budget",
                     "ok / error / timeout / crashed", f"peak RSS / PSS MB on {largest}",
                     "max peak RSS MB, all fits"], rows) + "\n" + legend


def summarize(results: pd.DataFrame) -> str:
    """All the tables, one set per budget found in ``results``."""
    parts = []
    for budget, rows in results.groupby("budget", sort=True):
        tools = [t for t in TOOLS if t in set(rows["tool"])]
        parts += [f"## Real tables: budget {budget:g} s, {rows['seed'].nunique()} split(s), "
                  f"{rows['table'].nunique()} table(s)\n",
                  per_table(rows, tools),
                  "\nMedian test score over the splits (median fit seconds); 'automl rank': 1 + "
                  "tools with a higher median.\n"]
        if "automl" in tools and len(tools) > 1:
            parts += ["### automl against each tool, per table (tie: medians within "
                      f"{TIE})\n", wins_ties_losses(rows, tools), ""]
        parts += ["### Per tool\n", per_tool(rows, tools), ""]
    return "\n".join(parts)


# -- the machine and the command line --------------------------------------------------------
