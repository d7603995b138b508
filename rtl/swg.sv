// swg.sv -- sliding-window (convolution input) generator: NHWC pixel stream in, one K*K*C window
// per output pixel out, in (kh, kw, c) order (emulator.conv2d_kernel's im2col = Keras), SIMD elements
// per beat, for the mvau of the same conv layer.
//
// Why a window register fed by line buffers: with the whole KH x KW x C window held in registers the
// SIMD width of the following mvau is free (any SIMD, the last beat zero-padded to NP), and each
// input pixel enters once: its column of KH pixels (KH-1 from the line buffer, the new pixel) shifts
// into the window's right edge and the line buffer word of that column moves up one row. Only KH-1
// image rows are buffered (wmem, word x = the KH-1 pixels above column x, oldest in the low bits).
//
// Positions walk the zero-padded image (HP x WP, PT/PL pad rows/columns before the data): data
// positions (ROW_DATA[y] && COL_DATA[x]) take one input beat, pad positions shift in a zero pixel
// without one. A position whose window is an output pixel (ROW_WIN[y] && COL_WIN[x]: bottom-right
// corner of a window at the layer's strides, within OH x OW) then emits SF = NP/SIMD beats. So an
// image takes about HP*WP + OH*OW*(SF-1) cycles here; the next position is fetched (line-buffer read,
// registered) while the previous window is still being emitted. Windows are emitted only after all
// their rows and columns came from the current image, so images follow each other with no gap.
//
// Parallelism (codesign/rtl/conv.py conv_cycles, chosen by codesign/rtl/folding.py):
// - PP positions a beat: the walk takes PP pixels of one row at once (an input beat of PP pixels; the
//   line buffer word and the window register's new columns are PP wide), and the windows ending at
//   those PP positions are emitted one after the other. A position costs a cycle of its own only when
//   its group of PP has no window, so a layer of SF = 1 (one window a beat) is no longer held to one
//   position a cycle: the MNIST CNN's first conv walks its 784 positions in 690 cycles at PP = 4, its
//   676 windows at the mvau's rate. Needs unpadded columns and PP | WP (the input stream is whole
//   groups of data pixels).
// - OFIFO beats of output FIFO: when the mvau needs NF > 1 passes a window, the generator is faster
//   than the mvau and, with the FIFO, runs ahead by the windows that cover the positions it walks
//   between an image's last window and the next image's first (the KH-1 rows above it), which the
//   mvau would otherwise spend idle.
// - MW windows a beat (MW | PP): the windows ending at MW neighbouring positions of a group leave in
//   one beat (window j of the beat in bits j*SIMD*XW), for an mvau that computes MW windows at once
//   (rtl/mvau.sv MW): a layer of one window a cycle is no longer held to one window a cycle. Needs the
//   windows of every group in whole aligned blocks of MW (`conv.mw_options`): the MNIST CNN's first
//   conv (26 windows a row, columns 2..27, PP 4) takes MW 2.
// - WS > SIMD (WS = NP): the core emits a whole window a beat into the output FIFO and a width
//   converter (axis_dwc) splits it into the mvau's SF beats after it. At SF > 1 beats a window a
//   windowless position still costs the core a cycle of its own, and between images it walks the KH-1
//   rows above the next image's first window while the mvau would wait: emitting whole windows, the
//   core runs ahead of the mvau by the windows (held in the FIFO) that cover that walk
//   (codesign/rtl/conv.py swg_width: the MNIST CNN's conv2 at SIMD 48 at a faster target).
// Input: PP pixels (C elements each, element 0 in the low bits) per beat. Output: AXI-Stream, no
// tlast (the mvau counts beats).
module swg #(
    parameter int C = 1,            // channels of a pixel
    parameter int XW = 8,
    parameter int KH = 3,
    parameter int KW = 3,
    parameter int HP = 28,          // padded image height / width (positions walked per image)
    parameter int WP = 28,
    parameter int SIMD = 9,
    parameter int NP = 9,           // window length padded to a multiple of SIMD
    parameter int PP = 1,           // positions a beat (PP | WP; columns unpadded when PP > 1)
    parameter int MW = 1,           // windows a beat (MW | PP; windows in aligned blocks of MW)
    parameter int WS = SIMD,        // elements a beat of the core: SIMD, or NP (whole windows, MW = 1)
    parameter int OFIFO = 0,        // output FIFO depth in beats, a power of two (0: none)
    parameter logic [HP-1:0] ROW_DATA = '1,   // rows / columns holding image data (others: zero padding)
    parameter logic [WP-1:0] COL_DATA = '1,
    parameter logic [HP-1:0] ROW_WIN = '1,    // rows / columns where a window ends (an output pixel)
    parameter logic [WP-1:0] COL_WIN = '1,
    parameter int N = KH * KW * C,
    parameter int PW = C * XW,      // pixel width
    parameter int SF = NP / WS      // the core's beats a window
) (
    input  logic                clk,
    input  logic                rst,
    input  logic [PP*PW-1:0]    s_tdata,
    input  logic                s_tvalid,
    output logic                s_tready,
    output logic [MW*SIMD*XW-1:0] m_tdata,
    output logic                m_tvalid,
    input  logic                m_tready
);
    localparam int WG = WP / PP;                     // position groups a row
    localparam int YW = HP > 1 ? $clog2(HP) : 1;
    localparam int XAW = WG > 1 ? $clog2(WG) : 1;
    localparam int CXW = WP > 1 ? $clog2(WP) : 1;
    localparam int SCW = SF > 1 ? $clog2(SF) : 1;
    localparam int PB = PP / MW;                     // blocks of MW positions a group
    localparam int QW = PB > 1 ? $clog2(PB) : 1;
    localparam int LBW = KH > 1 ? (KH - 1) * PW : 1;
    localparam int KWE = KW + PP - 1;                // window register columns

    // core output (before the optional FIFO)
    logic [MW*WS*XW-1:0] o_tdata;
    logic o_tvalid, o_tready;

    // ------------------------------------------------------------------ fetch: next group's pixels
    logic [YW-1:0] py;
    logic [XAW-1:0] px;                              // group: columns px*PP .. px*PP+PP-1
    logic f_full;
    logic [PB-1:0] f_win;
    logic [XAW-1:0] f_x;
    logic [PP*PW-1:0] f_pix;
    logic [PB-1:0] pend;                             // window blocks of the register still to emit
    logic [SCW-1:0] sf;
    wire emitting = pend != '0;
    wire last_beat = sf == SCW'(SF - 1);
    wire one_left = (pend & (pend - PB'(1))) == '0;
    wire shift = f_full && (!emitting || (o_tready && last_beat && one_left));
    wire can_take = !f_full || shift;
    wire [CXW-1:0] col0 = CXW'(px) * CXW'(PP);       // the group's first column
    wire pad = !(ROW_DATA[py] && COL_DATA[col0]);    // PP > 1: whole groups are data or padding (rows only)
    wire fetch = can_take && (pad || s_tvalid);
    assign s_tready = can_take && !pad;
    logic [PB-1:0] win_here;                         // a block's windows: all or none (its first says)
    always_comb begin
        for (int b = 0; b < PB; b++) win_here[b] = ROW_WIN[py] && COL_WIN[col0 + CXW'(b * MW)];
    end

    always_ff @(posedge clk) begin
        if (rst) begin
            py <= '0;
            px <= '0;
            f_full <= 1'b0;
        end else begin
            if (fetch) begin
                f_full <= 1'b1;
                px <= px == XAW'(WG - 1) ? '0 : px + XAW'(1);
                if (px == XAW'(WG - 1)) py <= py == YW'(HP - 1) ? '0 : py + YW'(1);
            end else if (shift) begin
                f_full <= 1'b0;
            end
        end
        if (fetch) begin
            f_x <= px;
            f_win <= win_here;
        end
    end
    // The fetched pixels and the line buffer's read register load on `take` (a group may be taken: the
    // fetch register is empty or shifts out this cycle), not on `fetch` (= take and an input beat or a
    // pad position): while take holds and no beat comes, px stays and nothing writes the line buffer
    // (writes come with shift, which needs f_full), so the last load, in the fetch cycle itself, is the
    // fetch's, and between fetch and shift take is low and the registers hold. So their enables come
    // from the engine's own registers and the output FIFO's registered ready, not from the input
    // FIFO's valid across the chip; each pixel's slice (PW bits) has its own copy (swg_ctl): the MNIST
    // CNN's conv2 routed at 79 MHz with s_tvalid -> fetch -> the 256-bit line-buffer read enable in one
    // cycle, 11.6 of its 12.6 ns in routing.
    for (genvar q = 0; q < PP; q++) begin : g_fpix
        logic take;
        swg_ctl u_ctl (.f_full(f_full), .emitting(emitting), .o_tready(o_tready), .last_beat(last_beat),
                       .one_left(one_left), .pad(pad), .s_tvalid(s_tvalid), .shift(), .fetch(), .take(take));
        always_ff @(posedge clk) if (take) f_pix[q*PW +: PW] <= pad ? '0 : s_tdata[q*PW +: PW];
    end

    // ------------------------------------------------------------------ line buffer: KH-1 rows
    // word x: for each of the group's PP columns q, the KH-1 pixels above it at q*LBW
    logic [PP*LBW-1:0] lb_r, lb_w;
    logic [PP*KH*PW-1:0] col;       // the new window columns: column q, row kh at (q*KH + kh)*PW
    for (genvar q = 0; q < PP; q++) begin : g_col
        if (KH > 1) begin : g_lb
            assign col[q*KH*PW +: KH*PW] = {f_pix[q*PW +: PW], lb_r[q*LBW +: LBW]};
            assign lb_w[q*LBW +: LBW] = col[q*KH*PW + PW +: LBW];
        end else begin : g_nolb
            assign col[q*KH*PW +: KH*PW] = f_pix[q*PW +: PW];
            assign lb_w[q*LBW +: LBW] = '0;
        end
    end
    // one memory a pixel of the word (column q, row r of the KH-1), each with its own take / shift copy
    if (KH > 1) begin : g_lb
        for (genvar k = 0; k < PP * (KH - 1); k++) begin : g_px
            logic take, sh;
            swg_ctl u_ctl (.f_full(f_full), .emitting(emitting), .o_tready(o_tready), .last_beat(last_beat),
                           .one_left(one_left), .pad(pad), .s_tvalid(s_tvalid), .shift(sh), .fetch(), .take(take));
            wmem #(.DW(PW), .DEPTH(WG), .AW(XAW), .INIT_EN(0)) u_lb (
                .clk(clk), .re(take), .raddr(px), .rdata(lb_r[k*PW +: PW]),
                .we(sh), .waddr(f_x), .wdata(lb_w[k*PW +: PW])
            );
        end
    end else begin : g_nolb
        assign lb_r = '0;
    end

    // ------------------------------------------------------------------ window register and emission
    // KH rows x KWE columns, row kh column c at (kh*KWE + c)*PW; the window ending at the group's
    // position q is columns q .. q+KW-1
    // Each pixel of the register has its own copy of `shift` (swg_ctl): the register is KH*KWE*PW
    // flip-flops (1,152 in the MNIST CNN's conv2), too many loads for one net in a 10 ns cycle.
    logic [KH*KWE*PW-1:0] win;
    for (genvar kh = 0; kh < KH; kh++) begin : g_wrow
        for (genvar c = 0; c < KWE; c++) begin : g_wcol
            logic sh;
            swg_ctl u_sh (.f_full(f_full), .emitting(emitting), .o_tready(o_tready), .last_beat(last_beat),
                          .one_left(one_left), .pad(pad), .s_tvalid(s_tvalid), .shift(sh), .fetch(), .take());
            if (c < KWE - PP) begin : g_old
                always_ff @(posedge clk) if (sh) win[(kh*KWE + c)*PW +: PW] <= win[(kh*KWE + c + PP)*PW +: PW];
            end else begin : g_new
                always_ff @(posedge clk) if (sh) win[(kh*KWE + c)*PW +: PW] <= col[((c - (KWE - PP))*KH + kh)*PW +: PW];
            end
        end
    end
    logic [QW-1:0] cq;              // the window block being emitted: the lowest pending one
    always_comb begin
        cq = '0;
        for (int b = PB - 1; b >= 0; b--) if (pend[b]) cq = QW'(b);
    end
    always_ff @(posedge clk) begin
        if (rst) begin
            pend <= '0;
            sf <= '0;
        end else begin
            if (emitting && o_tready) begin
                sf <= last_beat ? '0 : sf + SCW'(1);
                if (last_beat) pend[cq] <= 1'b0;
            end
            if (shift) begin
                pend <= f_win;
                sf <= '0;
            end
        end
    end
    // window j of block cq (position cq*MW + j) in (kh, kw, c) order, zero-padded to NP elements
    for (genvar j = 0; j < MW; j++) begin : g_mw
        logic [NP*XW-1:0] winp;
        always_comb begin
            winp = '0;
            for (int kh = 0; kh < KH; kh++)
                for (int kw = 0; kw < KW; kw++)
                    winp[(kh*KW + kw)*PW +: PW] = win[(kh*KWE + kw + int'(cq) * MW + j)*PW +: PW];
        end
        assign o_tdata[j*WS*XW +: WS*XW] = winp[sf*WS*XW +: WS*XW];
    end
    assign o_tvalid = emitting;

    // ------------------------------------------------------------------ optional output FIFO, width converter
    logic [MW*WS*XW-1:0] q_tdata;   // after the FIFO, before the split to SIMD (WS > SIMD)
    logic q_tvalid, q_tready;
    if (OFIFO > 0) begin : g_ofifo
        axis_fifo #(.DW(MW * WS * XW), .DEPTH(OFIFO), .WREG(1)) u_ofifo (
            .clk(clk), .rst(rst), .s_tdata(o_tdata), .s_tvalid(o_tvalid), .s_tready(o_tready),
            .m_tdata(q_tdata), .m_tvalid(q_tvalid), .m_tready(q_tready)
        );
    end else begin : g_noofifo
        assign q_tdata = o_tdata;
        assign q_tvalid = o_tvalid;
        assign o_tready = q_tready;
    end
    if (WS != SIMD) begin : g_split
        axis_dwc #(.EW(XW), .IN_N(WS), .OUT_N(SIMD)) u_split (
            .clk(clk), .rst(rst), .s_tdata(q_tdata), .s_tvalid(q_tvalid), .s_tready(q_tready),
            .m_tdata(m_tdata), .m_tvalid(m_tvalid), .m_tready(m_tready)
        );
    end else begin : g_nosplit
        assign m_tdata = q_tdata;
        assign m_tvalid = q_tvalid;
        assign q_tready = m_tready;
    end
endmodule

// One copy of swg's control (shift: the window register moves by PP columns; fetch: the next group is
// taken; take: a group may be taken): keep_hierarchy so synthesis keeps the copies apart and each drives only its own slice of the
// window register, the line buffer or the fetched pixels.
(* keep_hierarchy *)
module swg_ctl (
    input  logic f_full,
    input  logic emitting,
    input  logic o_tready,
    input  logic last_beat,
    input  logic one_left,
    input  logic pad,
    input  logic s_tvalid,
    output logic shift,
    output logic fetch,
    output logic take
);
    assign shift = f_full && (!emitting || (o_tready && last_beat && one_left));
    assign take = !f_full || shift;
    assign fetch = take && (pad || s_tvalid);
endmodule
