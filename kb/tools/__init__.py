"""The tools (decision aid, record sheet, policy checklist): values, the pure parser of tools.yaml, the checks
against the rest of the content, the logic of each tool and the checklist's markdown, each in its own module."""

from kb.tools.checks import check_tools
from kb.tools.logic import BadState, Decision, PolicyCheck, check_policy, decide
from kb.tools.model import TOOL_URLS, TOOLS_FILE, DecisionAid, PolicyChecklist, Question, Step, Tools
from kb.tools.parse import parse_tools
from kb.tools.render import policy_markdown

__all__ = [
    "TOOLS_FILE",
    "TOOL_URLS",
    "BadState",
    "Decision",
    "DecisionAid",
    "PolicyCheck",
    "PolicyChecklist",
    "Question",
    "Step",
    "Tools",
    "check_policy",
    "check_tools",
    "decide",
    "parse_tools",
    "policy_markdown",
]
