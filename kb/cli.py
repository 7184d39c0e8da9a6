"""The kb command: each subcommand parses, calls one kb function and prints."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from kb import config, learn
from kb.answering import answer as answer_question
from kb.content import load_content
from kb.encoder import EncoderMissing
from kb.index import OpenIndex, damage
from kb.index_holder import IndexHolder
from kb.model import NATIONS, TOPICS
from kb.searching import TYPES, search

CONTENT = click.option("--content", "content_dir", type=click.Path(path_type=Path), default=None,
                       help="Content folder (default: content/ or $KB_CONTENT).")
INDEX = click.option("--index", "index_dir", type=click.Path(path_type=Path), default=None,
                     help="Index folder (default: instance/index or $KB_INDEX).")


@click.group()
def main() -> None:
    """Build, check and query the sharing-nudes knowledge base."""


@main.command()
@CONTENT
def check(content_dir: Path | None) -> None:
    """Validate content: print path:line: message for each problem; exit 1 on errors."""
    content = load_content(content_dir or config.content_dir())
    for problem in content.problems:
        click.echo(str(problem), err=problem.severity == "error")
    errors, warnings = len(content.errors), len(content.problems) - len(content.errors)
    click.echo(f"{len(content.articles)} articles, {sum(len(a.sections) for a in content.articles)} sections: "
               f"{errors} error(s), {warnings} warning(s)")
    sys.exit(1 if errors else 0)


@main.command()
@CONTENT
@INDEX
@click.option("--force", is_flag=True, help="Rebuild even when the content is unchanged.")
def build(content_dir: Path | None, index_dir: Path | None, force: bool) -> None:
    """Build the search index and swap it in; the old index stays when content is broken."""
    content = load_content(content_dir or config.content_dir())
    if content.errors:
        for problem in content.errors:
            click.echo(str(problem), err=True)
        click.echo("build failed: the current index is left as it was", err=True)
        sys.exit(1)
    root = index_dir or config.index_dir()
    damaged = damage(root)
    if damaged:
        click.echo(f"the current index cannot be used ({damaged}): rebuilding it", err=True)
    try:
        meta = learn.build(content, root, force=force)
    except EncoderMissing as exc:
        click.echo(f"build failed: the sentence encoder: {exc}; the current index is left as it was", err=True)
        sys.exit(1)
    click.echo(f"index {meta['content']} built {meta['built']}: {meta['sections']} sections")


def _open(index_dir: Path | None) -> OpenIndex:
    ix = IndexHolder(index_dir or config.index_dir()).get()
    if ix is None:
        click.echo("no index: run 'kb build' first", err=True)
        sys.exit(2)
    return ix


@main.command("search")
@click.argument("query")
@click.option("--nation", type=click.Choice(NATIONS), default=None)
@click.option("--topic", type=click.Choice(TOPICS), default=None)
@click.option("--type", "kind", type=click.Choice(TYPES), default="section")
@click.option("--limit", type=click.IntRange(1, 50), default=10)
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
@INDEX
def search_cmd(query: str, nation: str | None, topic: str | None, kind: str, limit: int, as_json: bool,
               index_dir: Path | None) -> None:
    """Search the guidance."""
    result = search(_open(index_dir), query, nation=nation, topic=topic, kind=kind, limit=limit)
    if as_json:
        click.echo(json.dumps({"query": result.query, "corrected": result.corrected, "total": result.total,
                               "results": [h.as_dict() for h in result.hits]}, indent=2))
        return
    if result.corrected:
        click.echo(f"Showing results for: {result.corrected}")
    for n, hit in enumerate(result.hits, 1):
        click.echo(f"{n}. {hit.heading} ({hit.title}) {hit.url}  [{hit.source.section or hit.source.document}]")
    if not result.hits:
        click.echo("No results.")


@main.command("ask")
@click.argument("question")
@click.option("--nation", type=click.Choice(NATIONS), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
@INDEX
def ask_cmd(question: str, nation: str | None, as_json: bool, index_dir: Path | None) -> None:
    """Ask a question; get the answering section, the law and whom to call."""
    reply = answer_question(_open(index_dir), question, nation=nation)
    if as_json:
        click.echo(json.dumps(reply.as_dict(), indent=2))
        return
    if reply.urgent:
        click.echo("URGENT: if a child is in immediate danger, call the police on 999 now.")
    if reply.answered and reply.article and reply.section:
        click.echo(f"{reply.section.heading} ({reply.article.title})\n\n{reply.section.text}\n")
        click.echo(f"Source: NSPCC guidance, '{reply.section.provenance.section or reply.section.provenance.url}'")
    else:
        click.echo("The guidance does not cover this question.")
    for item in reply.legislation:
        click.echo(f"Law: {item.title}, {item.provision} ({', '.join(item.nations)})")
    for contact in reply.contacts[:3]:
        click.echo(f"Contact: {contact.name} {contact.phone}")
