"""course.i18n: every message of the course package has its 中文, and figures draw Chinese with a CJK font."""

from __future__ import annotations

import ast
import re
import string
import sys
import warnings
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib import font_manager

from course import checks, i18n, selfcheck
from course.byhand import ForbiddenCall, by_hand
from course.i18n_zh import MESSAGES

COURSE = Path(__file__).resolve().parent.parent / "course"
HAN = "[\u4e00-\u9fff]"
"""One Chinese character (CJK unified ideographs)."""


@pytest.fixture
def zh():
    """The course speaks 中文 during the test, and English again after it, whatever happens."""
    i18n.use("zh")
    try:
        yield
    finally:
        i18n.use("en")


def fails(fn, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def tr_calls() -> list[tuple[str, ast.Call]]:
    """Every call of ``tr(...)`` in the course package, with its file's name."""
    return [
        (path.name, node)
        for path in sorted(COURSE.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "tr"
    ]


def placeholders(template: str) -> list[tuple[str, str | None, str]]:
    """The template's fields as (name, conversion, format spec), sorted."""
    fields = string.Formatter().parse(template)
    return sorted((name, conversion, spec) for _, name, spec, conversion in fields if name is not None)


def test_every_template_passed_to_tr_has_its_chinese_and_no_entry_is_unused():
    calls = tr_calls()
    assert len(calls) > 150
    literal = [isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str) for _, call in calls]
    assert all(literal), [f"{name}:{call.lineno}" for (name, call), ok in zip(calls, literal, strict=True) if not ok]
    used = {call.args[0].value for _, call in calls}
    assert sorted(used - MESSAGES.keys()) == [], "templates without 中文 in course/i18n_zh.py"
    assert sorted(MESSAGES.keys() - used) == [], "entries of course/i18n_zh.py that no tr(...) uses"


@pytest.mark.parametrize("english", sorted(MESSAGES))
def test_chinese_template_keeps_the_placeholders_and_reads_as_chinese(english):
    chinese = MESSAGES[english]
    assert placeholders(chinese) == placeholders(english)
    if re.search("[A-Za-z]{3,}", re.sub(r"\{[^}]*\}", "", english)):  # words, not only fields or "dx"
        assert re.search(HAN, chinese), "no Chinese in the translation"
    # full-width punctuation in Chinese prose: no half-width mark touches a Chinese character
    assert not re.search(HAN + r"[,.;:?!()]", chinese) and not re.search(r"[,.;:?!()]" + HAN, chinese)


def test_no_two_templates_share_a_translation():
    """A mistakes dict keyed by translated descriptions would otherwise lose an entry in 中文."""
    assert len(set(MESSAGES.values())) == len(MESSAGES)


def test_english_is_the_default_and_use_switches_both_ways(zh):
    assert i18n.language() == "zh"
    assert fails(checks.assert_shape, np.zeros((2, 3)), (3, 2), name="h") == (
        "h 的形状为 (2, 3)，应为 (3, 2)。轴的顺序反了：结果是否被转置了？"
    )
    i18n.use("en")
    assert i18n.language() == "en"
    assert fails(checks.assert_shape, np.zeros((2, 3)), (3, 2), name="h") == (
        "h has shape (2, 3), expected (3, 2). The axes are in reverse order: is the result transposed?"
    )
    with pytest.raises(ValueError, match="language"):
        i18n.use("fr")


def test_failing_checks_raise_chinese_messages(zh):
    message = fails(checks.assert_close, np.zeros(3), np.ones(3), name="dx", mistakes={"没有复用掩码": np.zeros(3)})
    assert message == (
        "dx 的 3 个元素中有 3 个不对；最大误差为 1，位于索引 (0,)（相对误差 1）。"
        "你的结果与「没有复用掩码」时得到的结果一致。"
    )
    assert fails(checks.assert_close, 2.0, 1.0) == (
        "输出的 1 个元素中有 1 个不对；最大误差为 1（相对误差 0.33）。"
        "与正确结果相差常数因子 2：是否漏了或多乘了缩放系数（1/N、1/2、1/(1-p)）？"
    )
    assert fails(checks.assert_close, None, 1.0, name="sigmoid(z)") == "sigmoid(z) 是 None：是不是忘了返回它？"
    assert fails(checks.assert_equal, 7, 5, name="参数个数") == "参数个数为 7，不对（偏大）。"
    assert fails(checks.assert_equal, 6, 5, name="n", mistakes={"把偏置也算了进去": 6}) == (
        "n 为 6：这正是把偏置也算了进去时得到的值。"
    )
    assert fails(checks.assert_raises, ValueError, lambda: None) == "该调用应抛出 ValueError，却正常返回了。"


def test_the_same_checks_speak_english_again_after_use_en(zh):
    i18n.use("en")
    assert fails(checks.assert_close, 2.0, 1.0).startswith("output is wrong in 1 of 1 entries; the largest error is 1")
    assert fails(checks.assert_equal, 7, 5, name="count") == "count is 7, which is wrong (too large)."


def test_a_space_beside_a_field_goes_only_where_chinese_meets_chinese(zh):
    """Spaces separate Chinese from code and numbers; the values themselves are never changed."""
    assert i18n.tr("{name} is None: did you forget to return it?", name="一步之后的损失") == (
        "一步之后的损失是 None：是不是忘了返回它？"
    )
    assert i18n.tr("{name} is {actual!r}, which is wrong.", name="dW1", actual="两 个") == "dW1 为 '两 个'，不对。"
    assert i18n.tr("not a course template {x}", x=1) == "not a course template 1"  # English when not translated


def test_forbidden_call_and_self_check_summary_in_chinese(zh):
    def conv_forward(x):
        return np.convolve(x, x)

    with pytest.raises(ForbiddenCall) as info:
        by_hand(conv_forward, np.ones(3), forbidden=["numpy.convolve"])
    assert str(info.value) == "conv_forward 调用了 numpy.convolve；本练习要求你自己实现它。"
    results = [
        selfcheck.ExerciseResult("sigmoid", 2, 2, "", "passed"),
        selfcheck.ExerciseResult("relu", 3, 0, "AssertionError: dx 是 None", "failed"),
        selfcheck.ExerciseResult("x", 1, 0, "", selfcheck.NOT_STARTED),
    ]
    assert selfcheck.summary(results).splitlines() == [
        "练习     分数    结果",  # a Chinese character takes two columns: the columns stay aligned
        "sigmoid   2/2    通过",
        "relu      0/3    未通过：AssertionError: dx 是 None",
        "x         0/1    未开始",
        "可见测试：6 分中得了 2 分（1 个通过，1 个未通过，1 个未开始）",
    ]


def draw_title(title: str) -> tuple[str, list[str]]:
    """Draw a figure titled `title` (Agg): the font file its title uses, and the warnings drawing it gave."""
    fig, ax = plt.subplots()
    ax.plot([-1, 1], [-1, 1])
    text = ax.set_title(title)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    plt.close(fig)
    return font_manager.findfont(text.get_fontproperties()), [str(w.message) for w in caught]


def test_figures_draw_chinese_with_noto_sans_cjk_and_english_gets_its_settings_back():
    assert matplotlib.get_backend().lower() == "agg"
    rc = ("font.family", "font.sans-serif", "axes.unicode_minus")
    english = {key: matplotlib.rcParams[key] for key in rc}
    _, warned = draw_title("损失随迭代周期的变化")
    assert any("missing from font" in w for w in warned)  # what the 中文 edition would show without the font
    i18n.use("zh")
    try:
        assert matplotlib.rcParams["font.sans-serif"][0] == i18n.FONT
        assert matplotlib.rcParams["axes.unicode_minus"] is False
        path, warned = draw_title("损失随迭代周期的变化")
        # mplfonts' file, or a system copy of the same family (fonts-noto-cjk) that matplotlib finds first
        assert Path(path).name.startswith("NotoSansCJK") and Path(i18n.font_path()).name == "NotoSansCJKsc-Regular.otf"
        assert not [w for w in warned if "missing from font" in w]
        assert "mplfonts" not in sys.modules  # its font file only, none of its code
    finally:
        i18n.use("en")
    assert {key: matplotlib.rcParams[key] for key in rc} == english
