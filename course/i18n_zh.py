"""The course's messages in 中文: each English template of :func:`course.i18n.tr` -> its 中文 template.

A 中文 template has the same placeholders as its English one (tests/test_i18n.py checks it, and that
every template passed to ``tr`` in course/ has its entry here and no entry is unused). Terms follow
《动手学深度学习》 (d2l-zh); prose takes full-width punctuation, code and numbers stay as they are. The
descriptions of usual mistakes are short clauses without final punctuation: checks inserts them into
“你的结果与「{description}」时得到的结果一致。”
"""

MESSAGES: dict[str, str] = {
    # checks.py
    "{name} is None: did you forget to return it?": "{name} 是 None：是不是忘了返回它？",
    "{name} has shape {got}, expected {want}. {hint}": "{name} 的形状为 {got}，应为 {want}。{hint}",
    "{name} should be a number or an array, got {type}.": "{name} 应为数值或数组，得到的却是 {type}。",
    "{name} contains {bad} NaN or infinite entries: an overflow (exp of a large number?) or a division by zero.": (
        "{name} 含有 {bad} 个 NaN 或无穷大的元素：发生了溢出（对很大的数求 exp？）或除以零。"
    ),
    (
        "{name} is wrong in {wrong} of {size} entries; the largest error is {error:.3g} (relative error "
        "{relative:.2g}). {hint}"
    ): "{name} 的 {size} 个元素中有 {wrong} 个不对；最大误差为 {error:.3g}（相对误差 {relative:.2g}）。{hint}",
    (
        "{name} is wrong in {wrong} of {size} entries; the largest error is {error:.3g} at index {index} (relative "
        "error {relative:.2g}). {hint}"
    ): (
        "{name} 的 {size} 个元素中有 {wrong} 个不对；最大误差为 {error:.3g}，位于索引 {index}（相对误差 "
        "{relative:.2g}）。{hint}"
    ),
    "Your result matches what you get when {description}.": "你的结果与「{description}」时得到的结果一致。",
    "{name} is {actual!r}: that is what you get when {description}.": (
        "{name} 为 {actual!r}：这正是{description}时得到的值。"
    ),
    "{name} is {actual!r}, which is wrong.": "{name} 为 {actual!r}，不对。",
    "{name} is {actual!r}, which is wrong (too large).": "{name} 为 {actual!r}，不对（偏大）。",
    "{name} is {actual!r}, which is wrong (too small).": "{name} 为 {actual!r}，不对（偏小）。",
    "{name} raised {error}, expected {expected}.": "{name} 抛出了 {error}，应抛出 {expected}。",
    "{name} should raise {expected} but returned normally.": "{name} 应抛出 {expected}，却正常返回了。",
    "The axes are in reverse order: is the result transposed?": "轴的顺序反了：结果是否被转置了？",
    "The right sizes in the wrong order: check which axis is which (channels first?).": (
        "各轴的大小都对，但顺序不对：检查每个轴分别是什么（通道在前？）。"
    ),
    "The right number of entries in the wrong shape: check your reshape.": "元素个数对，但形状不对：检查你的 reshape。",
    "Off by one along axis {axes}: check the output-size formula and the +1.": (
        "沿轴 {axes} 差了 1：检查输出大小的公式和其中的 +1。"
    ),
    "One axis too few or too many: a missing keepdims, batch axis or squeeze?": (
        "少了或多了一个轴：是否漏了 keepdims、批量轴或 squeeze？"
    ),
    "Every entry has the wrong sign.": "每个元素的符号都反了。",
    "The result is transposed.": "结果被转置了。",
    "Off by a constant factor of {k:.4g}: a missing or extra scale (1/N, 1/2, 1/(1-p))?": (
        "与正确结果相差常数因子 {k:.4g}：是否漏了或多乘了缩放系数（1/N、1/2、1/(1-p)）？"
    ),
    "The entries are in reverse order: is a kernel flipped that should not be, or not flipped that should?": (
        "元素的顺序反了：是否翻转了不该翻转的卷积核，或者没有翻转该翻转的卷积核？"
    ),
    "output": "输出",
    "value": "值",
    "the call": "该调用",
    # gradcheck.py
    "gradient": "梯度",
    "gradient checks need float64 inputs, got {dtype}; use x.astype(np.float64)": (
        "梯度检验需要 float64 的输入，得到的却是 {dtype}；请使用 x.astype(np.float64)"
    ),
    "analytic gradient has shape {got}, x has shape {want}": "解析梯度的形状为 {got}，而 x 的形状为 {want}",
    (
        "{name}: the analytic gradient agrees with the numerical one on {checked} entries (relative error "
        "{error:.2e}, tolerance {tolerance:.0e})."
    ): "{name}：在 {checked} 个元素上，解析梯度与数值梯度一致（相对误差 {error:.2e}，容差 {tolerance:.0e}）。",
    (
        "{name}: the analytic gradient DISAGREES with the numerical one on {checked} entries (relative error "
        "{error:.2e}, tolerance {tolerance:.0e}). Largest disagreement at index {index}. If the error is large "
        "everywhere, look for a missing factor or a transposed matrix; if only at a few entries, the point may sit "
        "on a kink (ReLU at 0, a tie in max): move it and check again."
    ): (
        "{name}：在 {checked} 个元素上，解析梯度与数值梯度不一致（相对误差 {error:.2e}，容差 {tolerance:.0e}）。"
        "最大的差异位于索引 {index}。如果处处误差都很大，检查是否漏了某个因子或把矩阵转置了；"
        "如果只有少数几个元素误差大，该点可能正好落在折点上（ReLU 的 0 处、max 中的并列）：换一个点再检验。"
    ),
    # byhand.py
    "{name} calls {label}; this exercise asks you to write it yourself.": (
        "{name} 调用了 {label}；本练习要求你自己实现它。"
    ),
    "autograd (.backward() or torch.autograd.grad)": "自动微分（.backward() 或 torch.autograd.grad）",
    "{name} starts a thread ({label}); the check cannot follow it: compute in one thread.": (
        "{name} 启动了一个线程（{label}）；检查无法跟进它：请在一个线程里完成计算。"
    ),
    "{name} starts a process ({label}); the check cannot follow it: compute in this one.": (
        "{name} 启动了一个进程（{label}）；检查无法跟进它：请在当前进程里完成计算。"
    ),
    "a forbidden function": "一个被禁止的函数",
    # unfinished.py
    "this cell holds an exercise not written yet: replace `raise NotImplementedError()` with your code.": (
        "这个单元格里有一道还没写的练习：把 `raise NotImplementedError()` 换成你的代码。"
    ),
    "{name} is not written yet: write it in its cell above, run that cell, then this one.": (
        "{name} 还没有写：先在上方它的单元格里写好并运行，再运行这个单元格。"
    ),
    # selfcheck.py
    "the test printed to stderr: {first}": "测试向 stderr 输出了：{first}",
    "exercise": "练习",
    "points": "分数",
    "result": "结果",
    "passed": "通过",
    "failed": "未通过",
    "not started": "未开始",
    "failed: {message}": "未通过：{message}",
    "{count} {status}": "{count} 个{status}",
    ", ": "，",
    "visible tests: {total:g} of {top:g} points ({counts})": "可见测试：{top:g} 分中得了 {total:g} 分（{counts}）",
    # activation_checks.py
    "the derivative at 0 is taken as 1 (use 0, the left slope)": "把 0 处的导数取为 1（应取左侧斜率 0）",
    "the slope is ignored (that is plain ReLU)": "忽略了斜率（那就是普通的 ReLU）",
    "the slope argument is ignored (0.01 is used whatever slope is passed)": (
        "忽略了参数 slope（无论传入什么斜率都用 0.01）"
    ),
    "the derivative at 0 is taken as 1 (use the left slope there)": "把 0 处的导数取为 1（该处应取左侧斜率）",
    "negative inputs are zeroed (that is ReLU; use the slopes)": "把负的输入置为 0（那是 ReLU；应乘以斜率）",
    "the slopes are applied along the last axis instead of the channel axis 1": (
        "斜率沿最后一个轴作用，而不是沿通道轴 1"
    ),
    "prelu on {layout}": "{layout} 上的 prelu",
    "prelu_backward should return the pair (dz, dslopes), got {type}.": (
        "prelu_backward 应返回二元组 (dz, dslopes)，得到的却是 {type}。"
    ),
    "dz on {layout}": "{layout} 上的 dz",
    "dz is 1 where z <= 0 (multiply by the slope there)": "dz 在 z <= 0 处取了 1（该处应乘以斜率）",
    "the gradient is averaged over the batch instead of summed": "梯度在批量上取了平均，而不是求和",
    "the gradient is not summed over the batch (one row per example)": "梯度没有在批量上求和（每个样本一行）",
    "dslopes is summed over the batch but not over the positions (H, W)": (
        "dslopes 在批量上求和了，但没有在各位置 (H, W) 上求和"
    ),
    "dslopes on {layout}": "{layout} 上的 dslopes",
    # conv_checks.py
    "the stride is ignored (windows move one pixel at a time)": "忽略了步幅（窗口每次只移动一个像素）",
    "the padding is ignored": "忽略了填充",
    "the kernel is flipped (true convolution; conv layers compute cross-correlation)": (
        "翻转了卷积核（那是数学上的卷积；卷积层计算的是互相关）"
    ),
    "the output is one row and one column short (off-by-one output size)": "输出少了一行和一列（输出大小差了 1）",
    "the bias is left out": "漏掉了偏置",
    "the bias is added inside the window sum (once per weight, {n} times, instead of once per output)": (
        "偏置加在了窗口求和之内（每个权重加一次，共 {n} 次，而不是每个输出加一次）"
    ),
    "the filter and channel axes of w are swapped (w[c, f] instead of w[f, c])": (
        "w 的滤波器轴与通道轴对调了（用了 w[c, f]，而不是 w[f, c]）"
    ),
    "dx still has the padding: cut `pad` rows and columns off every side of the padded gradient.": (
        "dx 仍带着填充：应把填充后的梯度上下各去掉 `pad` 行、左右各去掉 `pad` 列。"
    ),
    "{name} (vs torch autograd)": "{name}（对照 torch 的自动微分）",
    "the kernel is flipped when it is spread back onto dx (use w as it is)": (
        "把梯度散布回 dx 时翻转了卷积核（应直接使用 w）"
    ),
    "only the first example of the batch contributes to dw (sum over the batch)": (
        "只有批量中的第一个样本对 dw 有贡献（应在整个批量上求和）"
    ),
    "dw comes out flipped": "dw 被翻转了",
    "db is summed over the first example only (sum over the batch too)": "db 只在第一个样本上求和（还应在批量上求和）",
    "max pooling": "最大汇聚",
    "avg pooling": "平均汇聚",
    "dx ({pooling})": "dx（{pooling}）",
    "dx ({pooling}, size {size}, stride {stride})": "dx（{pooling}，窗口大小 {size}，步幅 {stride}）",
    "{name} is wrong only where windows overlap: add each window's gradient to dx (+=) instead of assigning it (=).": (
        "{name} 只在窗口重叠处不对：应把每个窗口的梯度累加到 dx 上（+=），而不是赋值（=）。"
    ),
    "the upstream gradient is copied to every entry of the window (not divided by the window size)": (
        "把上游梯度复制到了窗口内的每个元素（没有除以窗口大小）"
    ),
    "the gradient is spread over the whole window (that is average pooling's backward)": (
        "把梯度分摊到了整个窗口（那是平均汇聚的反向传播）"
    ),
    "the gradient goes to the maximum only (that is max pooling's backward)": (
        "梯度只传给了最大值（那是最大汇聚的反向传播）"
    ),
    "dx of {pooling} (size {size}, stride {stride})": "{pooling}的 dx（窗口大小 {size}，步幅 {stride}）",
    # im2col_checks.py
    "the rows are ordered (kernel row, kernel column, channel): channels last": (
        "行的顺序是（卷积核行，卷积核列，通道）：通道排在了最后"
    ),
    "the kernel row and kernel column are swapped inside each patch": "每个图像块内卷积核的行与列对调了",
    "the columns run down the image first (y and x swapped)": "列先沿图像纵向排列（y 与 x 对调了）",
    "the batch index varies fastest along the columns": "沿列变化最快的是批量索引",
    "the output size is one too small (the + 1 is missing)": "输出大小小了 1（漏了 + 1）",
    "patches are stored as rows instead of columns (transposed)": "图像块按行而不是按列存放（被转置了）",
    "the batch and channel axes are swapped (x read as (C, N, H, W))": (
        "批量轴与通道轴对调了（把 x 当成了 (C, N, H, W)）"
    ),
    "the stride is ignored (every window position is kept)": "忽略了步幅（保留了每个窗口位置）",
    "the stride is ignored: the windows are taken one pixel apart": "忽略了步幅：窗口之间只相隔一个像素",
    "the zero padding is ignored": "忽略了零填充",
    "{call} for x of shape {shape}": "{call}（x 的形状为 {shape}）",
    (
        "{label} raised {error} ({message}). Is the image padded (np.pad) before slicing, with H_out = (H + 2*pad - "
        "HH) // stride + 1? A slice start:start + stride*H_out:stride has exactly H_out entries."
    ): (
        "{label} 抛出了 {error}（{message}）。切片之前是否用 np.pad 填充了图像，并且 H_out = (H + 2*pad - HH) // "
        "stride + 1？切片 start:start + stride*H_out:stride 恰好有 H_out 个元素。"
    ),
    "{label} has dtype {got}; it should keep the input's dtype {want}.": (
        "{label} 的 dtype 为 {got}；应保持输入的 dtype {want}。"
    ),
    "the kernel is flipped (that is true convolution; layers compute cross-correlation)": (
        "翻转了卷积核（那是数学上的卷积；各层计算的是互相关）"
    ),
    "the bias is not added": "没有加上偏置",
    "the (F, N*H_out*W_out) product is reshaped straight to (N, F, H_out, W_out) without moving the filter axis": (
        "把 (F, N*H_out*W_out) 的乘积直接 reshape 成 (N, F, H_out, W_out)，没有先移动滤波器轴"
    ),
    "the filters are flattened as (F, HH, WW, C): W_row does not match the row order of X_col": (
        "卷积核按 (F, HH, WW, C) 展平：W_row 与 X_col 的行顺序不一致"
    ),
    "the stride is ignored": "忽略了步幅",
    "the filter and channel axes of w are swapped": "w 的滤波器轴与通道轴对调了",
    "the x_shape passed to col2im_fn": "传给 col2im_fn 的 x_shape",
    "the (HH, WW, stride, pad) passed to col2im_fn": "传给 col2im_fn 的 (HH, WW, stride, pad)",
    # lstm_checks.py
    "the path from dh through tanh(c) into the cell state is left out (dc must add dh * o * (1 - tanh(c)^2))": (
        "漏掉了从 dh 经 tanh(c) 进入记忆元的路径（dc 必须加上 dh * o * (1 - tanh(c)^2)）"
    ),
    "the sigmoid's derivative is written as s instead of s * (1 - s)": "把 sigmoid 的导数写成了 s，而不是 s * (1 - s)",
    "the derivative of tanh(c) is written 1 - c^2 instead of 1 - tanh(c)^2": (
        "把 tanh(c) 的导数写成了 1 - c^2，而不是 1 - tanh(c)^2"
    ),
    "dc_prev is the cell-state gradient itself: it must pass through the forget gate (dc_prev = dc * f)": (
        "dc_prev 直接取了记忆元的梯度：它必须经过遗忘门（dc_prev = dc * f）"
    ),
    "dc_next is not added to the cell-state gradient (the cell state also receives dc_next from the next step)": (
        "没有把 dc_next 加到记忆元的梯度上（记忆元还会从下一时间步收到 dc_next）"
    ),
    "the gates are read in the order i, f, o, g (torch stores i, f, g, o)": (
        "按 i, f, o, g 的顺序读取各门（torch 存储的顺序是 i, f, g, o）"
    ),
    "the gates are read in the order f, i, g, o (torch stores i, f, g, o)": (
        "按 f, i, g, o 的顺序读取各门（torch 存储的顺序是 i, f, g, o）"
    ),
    "lstm_cell_backward should return a tuple (dx, dh_prev, dc_prev, dW_ih, dW_hh, db)": (
        "lstm_cell_backward 应返回元组 (dx, dh_prev, dc_prev, dW_ih, dW_hh, db)"
    ),
    # plots.py, training.py, results.py
    "epoch": "迭代周期",
    "loss": "损失",
    "predicted": "预测类别",
    "true": "真实类别",
    "training": "训练",
    "batch": "批",
    "val_acc": "验证准确率",
    "{name}: {value}": "{name}：{value}",
    # data.py
    (
        "Restore it with `git checkout -- data/` from the course repository (or copy the course's data/ folder "
        "again); the course never downloads data."
    ): "请在课程仓库中用 `git checkout -- data/` 恢复它（或重新复制课程的 data/ 文件夹）；本课程从不下载数据。",
    "{path} is missing. {restore}": "{path} 不存在。{restore}",
    "{name} is not listed in {sums}.": "{name} 没有列在 {sums} 中。",
    "Data file {path} is missing. {restore}": "数据文件 {path} 不存在。{restore}",
    "Data file {path} is damaged: its SHA-256 does not match SHA256SUMS. {restore}": (
        "数据文件 {path} 已损坏：它的 SHA-256 与 SHA256SUMS 中的不符。{restore}"
    ),
    "{path} is not an IDX file of unsigned bytes.": "{path} 不是由无符号字节组成的 IDX 文件。",
    "{path} holds {size} bytes of data, its header says {shape}.": (
        "{path} 含有 {size} 字节的数据，而它的文件头给出的形状是 {shape}。"
    ),
    "split must be 'train' or 'test', not {split!r}": "split 必须是 'train' 或 'test'，而不是 {split!r}",
    # conv_explorer.py
    "identity": "恒等",
    "box blur": "均值模糊",
    "sharpen": "锐化",
    "Laplacian": "拉普拉斯",
    "{formula} = {value:g}: the kernel is larger than the padded input": (
        "{formula} = {value:g}：卷积核比填充后的输入还大"
    ),
    "{formula} = {value:g}: not an integer, conv2d floors it to {floor}": (
        "{formula} = {value:g}：不是整数，conv2d 将其向下取整为 {floor}"
    ),
    "image must be (H, W), got shape {shape}": "image 的形状必须是 (H, W)，得到的却是 {shape}",
    "input {h}x{w}, padding {padding}": "输入 {h}x{w}，填充 {padding}",
    "{kernel}, dilation {dilation}": "{kernel}，膨胀率 {dilation}",
    "height: {height}\nwidth: {width}": "高：{height}\n宽：{width}",
    "output {h}x{w}, stride {stride}": "输出 {h}x{w}，步幅 {stride}",
    "no output": "没有输出",
    "kernel": "卷积核",
    "stride": "步幅",
    "padding": "填充",
    "dilation": "膨胀率",
    "<b>Explore</b>: change the settings; the figure below follows them.": (
        "<b>动手试试</b>：改变设置，下面的图会随之更新。"
    ),
    # entrywise.py
    "the two gradients have shapes {a} and {n}": "两个梯度的形状分别为 {a} 和 {n}",
    "worst per-entry relative error": "逐元素相对误差的最大值",
    # lstm_viewer.py
    "the model has no attribute `lstm` holding an nn.LSTM": "模型没有存放 nn.LSTM 的属性 `lstm`",
    "weights need at least weight_ih_l0 and weight_hh_l0 (an nn.LSTM state_dict)": (
        "权重中至少要有 weight_ih_l0 和 weight_hh_l0（即 nn.LSTM 的 state_dict）"
    ),
    "expected an nn.LSTM, a module with .lstm, or a state_dict, not {type}": (
        "应传入 nn.LSTM、带有 .lstm 的模块或 state_dict，而不是 {type}"
    ),
    "only unidirectional LSTMs without projections can be inspected": "只能查看没有投影的单向 LSTM",
    "layer must be in 0..{last}, not {layer}": "layer 必须在 0..{last} 之间，而不是 {layer}",
    "pass one sequence: (T, D) or (1, T, D)": "请只传入一个序列：(T, D) 或 (1, T, D)",
    "inputs must be (T, D), got shape {shape}": "inputs 的形状必须是 (T, D)，得到的却是 {shape}",
    "pass encode= to turn the string into (T, D) inputs": "请传入 encode=，把字符串转换为 (T, D) 的输入",
    "input gate\nunit": "输入门\n隐藏单元",
    "forget gate\nunit": "遗忘门\n隐藏单元",
    "output gate\nunit": "输出门\n隐藏单元",
    "cell state\nunit": "记忆元\n隐藏单元",
    "time step": "时间步",
    "LSTM gates over time (rows: hidden units)": "LSTM 各门随时间的变化（每行一个隐藏单元）",
    "input gate": "输入门",
    "forget gate": "遗忘门",
    "output gate": "输出门",
    "cell state": "记忆元",
    "unit": "隐藏单元",
    "step {t}: input {label!r}": "第 {t} 步：输入 {label!r}",
    # sample_score.py
    "confidence {confidence:.3f} ({fraction:.0%} of samples >= {confident})": (
        "置信度 {confidence:.3f}（{fraction:.0%} 的样本 >= {confident}）"
    ),
    "confident coverage {coverage:.3f} ({effective:.1f} effective digits, {seen} of 10 seen confidently)": (
        "置信覆盖度 {coverage:.3f}（有效数字个数 {effective:.1f}，10 个数字中有 {seen} 个被有把握地认出）"
    ),
    "conditional accuracy {accuracy:.1%}": "条件准确率 {accuracy:.1%}",
    "NOT DIGITS": "不是数字",
    "MODE COLLAPSE": "模式崩溃",
    "digits": "是数字",
    "images must have shape (N, 1, 28, 28) or (N, 28, 28), got {shape}": (
        "images 的形状必须是 (N, 1, 28, 28) 或 (N, 28, 28)，得到的却是 {shape}"
    ),
    "images is empty: there is nothing to score": "images 是空的：没有可以评分的样本",
    "pixel values must lie in [0, 1], got values in [{lo:.3g}, {hi:.3g}]": (
        "像素值必须在 [0, 1] 之内，得到的值却在 [{lo:.3g}, {hi:.3g}] 之间"
    ),
    (
        "pixel values must lie in [0, 1], got values in [{lo:.3g}, {hi:.3g}] (a tanh generator gives [-1, 1]: pass "
        "(x + 1) / 2)"
    ): (
        "像素值必须在 [0, 1] 之内，得到的值却在 [{lo:.3g}, {hi:.3g}] 之间（tanh 生成器输出的是 [-1, 1]：请传入 (x + "
        "1) / 2）"
    ),
    "requested has {n} entries for {images} images": "requested 有 {n} 个元素，而图像有 {images} 张",
    # gan_weights.py
    (
        "entry {i} of your model's state_dict, {key} ({name}, shape {shape}), meets {theirs} of shape {their_shape} "
        "in the pretrained file: create the layers in __init__ in the order the Generator docstring lists them"
    ): (
        "你的模型的 state_dict 的第 {i} 项 {key}（{name}，形状 {shape}）对上的是预训练文件中形状为 {their_shape} 的 "
        "{theirs}：请在 __init__ 中按 Generator 的文档字符串列出的顺序创建各层"
    ),
    (
        "your model's state_dict has {mine} entries, the pretrained file {saved}: yours are {names}, the file's are "
        "{theirs}"
    ): "你的模型的 state_dict 有 {mine} 项，预训练文件有 {saved} 项：你的是 {names}，文件中的是 {theirs}",
    # parallel.py, rbm_exact.py
    "the {world} processes did not finish within {timeout:g} s": "{world} 个进程没有在 {timeout:g} 秒内结束",
    "a process failed (exit codes {codes})": "有进程失败了（退出码 {codes}）",
    "{n_v} + {n_h} units have 2**{n} joint states: too many to enumerate": (
        "{n_v} + {n_h} 个单元共有 2**{n} 个联合状态：太多了，无法逐一枚举"
    ),
    "{done} of {total} exercises pass the visible tests; the grader also runs hidden tests.": (
        "{done}/{total} 道练习通过了可见测试；评分器还会运行隐藏测试。"
    ),
}
