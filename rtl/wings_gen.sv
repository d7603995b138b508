// wings_gen.sv -- WINGs generated dense layer: the engine stores the generator, not the weights.
//
// Computes one `wings_dense` layer (codesign/techniques/wings/gen.py generate_int, emulator kernel wings_gen,
// hls/nnet_wings_gen.h) in the same integers:
//   curve[k, j]    = cast_curve( sum_s alpha[k,s] * klut[|j - sv[k,s]|] + beta[k] )
//   mid[a, c]      = sum_b z[k,a,b] * plut[|c - pcol[b]|]                (exact, per component k)
//   basis[k, r*W+c] = cast_basis( sum_a plut[|r - prow[a]|] * mid[a, c] )  (GRID = 1; else stored)
//   w[i, j]        = cast_weight( sum_k basis[k, i] * curve[k, j] )
//   y              = requant(x @ w + bias)                                  (mvau)
// A table read past its length is 0; every sum is exact (widths from codesign/rtl/wings.py, over
// the whole range of each parameter type, so any value a fault writes stays exact); each cast is a
// `requant` lane (the spec's rounding and overflow modes, round-half-even + saturate for WINGs).
//
// Why generate once into a weight buffer (and not stream): keeping the dense part at its MAC bound
// while streaming would need K multipliers per MAC lane (each weight is a K-term dot product), i.e.
// K*PE*SIMD generator multipliers, or K times the cycles with PE*SIMD of them. Generating once
// after reset / after a load-port write of a generator parameter costs one multiplier per phase
// plus SIMD in the weight phase and leaves inference at exactly the dense mvau's (N/SIMD)*(M/PE)
// cycles: generation adds no cycle per inference, only a one-time
//   K*NO*S + GRID*K*(GR*WD*GC + H*WD*GR) + (M/PE)*(N/SIMD)*PE*K + drains and phase selects   cycles
// (codesign/rtl/wings.py gen_cycles) during which s_tready is low. After a load-port write only the
// stale components' curve / basis rows are recomputed, then only the weight words whose curve column or basis
// word changed (compared at the write; wcol / wrow below; WingsPlan.regen_cycles). The price: the weight buffer
// is as large as a dense layer's weight memory (on-chip RAM). What WINGs saves here is what is
// stored, loaded and exposed to parameter faults (the generator: alpha, beta, sv, klut, z, plut,
// prow, pcol), not the buffer. The buffer is the mvau's own weight memory, written through its load
// port by the weight phase; its image file is empty (a comment): nothing of w is stored anywhere.
//
// Phases (one issue per cycle, pipeline issue -> read -> memory register -> operands -> distance -> table ->
// product -> accumulate -> cast (three stages: accumulator type, rounding, overflow) -> write, then a drain of 11
// cycles before the next phase so no read precedes the write it needs), per component k whose rows are stale (SEL picks, a cycle each):
//   CURVE  j, s      read {sv, alpha}[k*S+s]        -> curve[j*K+k]          (curve row k stale)
//   MID    a, c, b   read z[(k*GR+a)*GC+b]          -> mid[a*WD+c]          (GRID, basis rows k stale)
//   ROW    r, c, a   read mid[a*WD+c]               -> basis word k*SF+i/SIMD, lane i%SIMD
//   WGT    of, sf, p, k  read basis[k*SF+sf] (SIMD lanes), curve[(of*PE+p)*K+k]
//                    -> weight word of*SF+sf, lane (p, s) = w[sf*SIMD+s, of*PE+p] (mvau layout)
// Padded inputs (i >= NI) and outputs (j >= NO) get weight 0.
// Load port wl_* (generator parameters, one word per address, regions in this order):
//   {sv, alpha} K*S words (alpha low) | z K*GR*GC (GRID) | basis K*SF words of SIMD lanes (!GRID) |
//   beta K | klut KL | plut PL (GRID) | prow GR (GRID) | pcol GC (GRID)
// A write restarts generation (inputs are held off until it ends) for what it makes stale; write
// between samples, as with mvau. pl_* writes the mvau's bias words directly (no regeneration needed).
// Input/output: AXI-Stream exactly as mvau (SIMD elements per input beat, PE per output beat).
module wings_gen #(
    // ---- dense part (mvau)
    parameter int N = 16,            // inputs, padded to a multiple of SIMD
    parameter int M = 8,             // outputs, padded to a multiple of PE
    parameter int PE = 2,
    parameter int SIMD = 4,
    parameter int XW = 8,
    parameter int X_SIGNED = 0,
    parameter int WW = 8,            // generated weight, stored two's complement width
    parameter int DOT_W = 20,
    parameter int B_W = 8,
    parameter int PS = 0,
    parameter int BS = 0,
    parameter int RW = 40,
    parameter int ACC_W = 32,
    parameter int ACC_SIGNED = 1,
    parameter int ACC_OVF = 0,
    parameter int RELU = 0,
    parameter int OS = 0,
    parameter int RND = 0,
    parameter int OUT_W = 8,
    parameter int OUT_SIGNED = 0,
    parameter int OUT_OVF = 1,
    parameter int DOT_LVL = 2,       // the mvau's adder-tree levels a cycle (codesign/rtl/pipeline.py)
    parameter int OP_REG = 1,        // the mvau's operand register
    // ---- generator shape
    parameter int NI = 16,           // real inputs (H*WD with GRID)
    parameter int NO = 8,            // real outputs (units)
    parameter int K = 2,             // components
    parameter int S = 4,             // support vectors per component
    parameter int GRID = 1,          // 1: basis from the pixel grid (z, plut, prow, pcol); 0: stored basis
    parameter int H = 4,
    parameter int WD = 4,
    parameter int GR = 2,
    parameter int GC = 2,
    parameter int KL = 3,            // klut length
    parameter int PL = 3,            // plut length
    // ---- stored widths (two's complement; indices unsigned)
    parameter int AL_W = 8,
    parameter int BE_W = 8,
    parameter int SV_W = 4,
    parameter int LU_W = 9,
    parameter int Z_W = 8,
    parameter int PR_W = 3,
    parameter int PC_W = 3,
    parameter int BA_W = 10,         // basis (stored)
    parameter int CV_W = 12,         // curve (stored)
    // ---- exact sum widths: scalar accumulator (curve, mid, basis sums) and weight sums
    parameter int SA_W = 24,
    parameter int C_SW = 20,
    parameter int M_SW = 20,
    parameter int B_SW = 24,
    parameter int G_SW = 26,
    // ---- curve cast (requant: sum << C_PS + beta << C_BS, shift by C_OS)
    parameter int C_PS = 0,
    parameter int C_BS = 0,
    parameter int C_RW = 40,
    parameter int C_ACC_W = 32,
    parameter int C_OS = 0,
    parameter int C_RND = 6,
    parameter int C_OUT_W = 12,
    parameter int C_SIGNED = 1,
    parameter int C_OVF = 1,
    // ---- basis cast
    parameter int B_RW = 40,
    parameter int B_ACC_W = 32,
    parameter int B_OS = 0,
    parameter int B_RND = 6,
    parameter int B_OUT_W = 10,
    parameter int B_SIGNED = 1,
    parameter int B_OVF = 1,
    // ---- weight cast
    parameter int G_RW = 40,
    parameter int G_ACC_W = 32,
    parameter int G_OS = 0,
    parameter int G_RND = 6,
    parameter int G_OUT_W = 8,
    parameter int G_SIGNED = 1,
    parameter int G_OVF = 1,
    // ---- memory images
    parameter W_INIT = "w.mem",      // weight buffer: empty image (generated at run time)
    parameter P_INIT = "p.mem",
    parameter SVR_INIT = "svr.mem",
    parameter Z_INIT = "z.mem",
    parameter BASIS_INIT = "basis.mem",
    parameter BETA_INIT = "beta.mem",
    parameter KLUT_INIT = "klut.mem",
    parameter PLUT_INIT = "plut.mem",
    parameter PROW_INIT = "prow.mem",
    parameter PCOL_INIT = "pcol.mem",
    // ---- derived
    parameter int SF = N / SIMD,
    parameter int NF = M / PE,
    parameter int R_SVR = K * S,
    parameter int R_Z = GRID != 0 ? K * GR * GC : 0,
    parameter int R_BAS = GRID != 0 ? 0 : K * SF,
    parameter int R_TAB = K + KL + (GRID != 0 ? PL + GR + GC : 0),
    parameter int GWORDS = R_SVR + R_Z + R_BAS + R_TAB,
    parameter int WAW = GWORDS > 1 ? $clog2(GWORDS) : 1,
    parameter int WLD = 16,          // load word: the widest region word (codesign/rtl/wings.py)
    parameter int PAW = NF > 1 ? $clog2(NF) : 1,
    parameter int PDW = PE * (1 + B_W)
) (
    input  logic                  clk,
    input  logic                  rst,
    input  logic [SIMD*XW-1:0]    s_tdata,
    input  logic                  s_tvalid,
    output logic                  s_tready,
    output logic [PE*OUT_W-1:0]   m_tdata,
    output logic                  m_tvalid,
    input  logic                  m_tready,
    output logic                  m_tlast,
    input  logic                  wl_we,
    input  logic [WAW-1:0]        wl_addr,
    input  logic [WLD-1:0]        wl_data,
    input  logic                  pl_we,
    input  logic [PAW-1:0]        pl_addr,
    input  logic [PDW-1:0]        pl_data
);
    localparam int MWAW = SF * NF > 1 ? $clog2(SF * NF) : 1;    // mvau weight address width
    localparam int SVA = R_SVR > 1 ? $clog2(R_SVR) : 1;
    localparam int ZD = GRID != 0 ? K * GR * GC : 1;
    localparam int ZA = ZD > 1 ? $clog2(ZD) : 1;
    localparam int BD = K * SF;                                   // basis words
    localparam int BAA = BD > 1 ? $clog2(BD) : 1;
    localparam int CD = M * K;                                    // curve entries (j < M)
    localparam int CA = CD > 1 ? $clog2(CD) : 1;
    localparam int MD = GR * WD;                                  // mid entries
    localparam int MA = MD > 1 ? $clog2(MD) : 1;
    localparam int KA = K > 1 ? $clog2(K) : 1;
    localparam int SFA = SF > 1 ? $clog2(SF) : 1;
    localparam int KLA = KL > 1 ? $clog2(KL) : 1;
    localparam int PLA = PL > 1 ? $clog2(PL) : 1;
    localparam int GRA = GR > 1 ? $clog2(GR) : 1;
    localparam int GCA = GC > 1 ? $clog2(GC) : 1;
    // loop counters: wide enough for every phase's loop bounds (all <= N + M + K + S + H + WD + ...)
    localparam int BND = N + M + K + S + H + WD + GR + GC + PE;
    localparam int CTW = $clog2(BND + 1) + 1;
    localparam int DW0 = SV_W > PR_W ? SV_W : PR_W;
    localparam int DW1 = DW0 > PC_W ? DW0 : PC_W;
    localparam int DW = (CTW > DW1 ? CTW : DW1) + 1;              // distance width
    localparam int OLW = $clog2(SIMD + 1);                        // lane counter
    localparam int OIW = CTW + OLW + 9;                           // pixel index / row offset
    // load-port region bases
    localparam int A_Z = R_SVR;
    localparam int A_BAS = A_Z + R_Z;
    localparam int A_BETA = A_BAS + R_BAS;
    localparam int A_KLUT = A_BETA + K;
    localparam int A_PLUT = A_KLUT + KL;
    localparam int A_PROW = A_PLUT + (GRID != 0 ? PL : 0);
    localparam int A_PCOL = A_PROW + (GRID != 0 ? GR : 0);
    localparam logic [2:0] PH_CURVE = 3'd0, PH_MID = 3'd1, PH_ROW = 3'd2, PH_WGT = 3'd3, PH_DONE = 3'd4,
                           PH_SEL = 3'd5;
    localparam int KB = $clog2(K + 1);                           // component counter 0 .. K

    // ------------------------------------------------------------------ load port decode
    wire [WAW:0] la = {1'b0, wl_addr};
    wire we_svr = wl_we && la < (WAW+1)'(A_Z);
    wire we_z = wl_we && GRID != 0 && la >= (WAW+1)'(A_Z) && la < (WAW+1)'(A_BAS);
    wire we_bas_lp = wl_we && GRID == 0 && la >= (WAW+1)'(A_BAS) && la < (WAW+1)'(A_BETA);
    wire we_beta = wl_we && la >= (WAW+1)'(A_BETA) && la < (WAW+1)'(A_KLUT);
    wire we_klut = wl_we && la >= (WAW+1)'(A_KLUT) && la < (WAW+1)'(A_PLUT);
    wire we_plut = wl_we && GRID != 0 && la >= (WAW+1)'(A_PLUT) && la < (WAW+1)'(A_PROW);
    wire we_prow = wl_we && GRID != 0 && la >= (WAW+1)'(A_PROW) && la < (WAW+1)'(A_PCOL);
    wire we_pcol = wl_we && GRID != 0 && la >= (WAW+1)'(A_PCOL) && la < (WAW+1)'(GWORDS);
    wire [WAW:0] off_z0 = la - (WAW+1)'(A_Z);
    wire [WAW:0] off_bas0 = la - (WAW+1)'(A_BAS);
    wire [WAW:0] off_beta0 = la - (WAW+1)'(A_BETA);
    wire [WAW:0] off_klut0 = la - (WAW+1)'(A_KLUT);
    wire [WAW:0] off_plut0 = la - (WAW+1)'(A_PLUT);
    wire [WAW:0] off_prow0 = la - (WAW+1)'(A_PROW);
    wire [WAW:0] off_pcol0 = la - (WAW+1)'(A_PCOL);
    wire [SVA-1:0] off_svr = SVA'(la);
    wire [ZA-1:0] off_z = ZA'(off_z0);
    wire [BAA-1:0] off_bas = BAA'(off_bas0);
    wire [KA-1:0] off_beta = KA'(off_beta0);
    wire [KLA-1:0] off_klut = KLA'(off_klut0);
    wire [PLA-1:0] off_plut = PLA'(off_plut0);
    wire [GRA-1:0] off_prow = GRA'(off_prow0);
    wire [GCA-1:0] off_pcol = GCA'(off_pcol0);

    // ------------------------------------------------------------------ small tables (registers)
    logic [BE_W-1:0] beta_t [0:(1<<KA)-1];
    logic [LU_W-1:0] klut_t [0:(1<<KLA)-1];
    logic [LU_W-1:0] plut_t [0:(1<<PLA)-1];
    logic [PR_W-1:0] prow_t [0:(1<<GRA)-1];
    logic [PC_W-1:0] pcol_t [0:(1<<GCA)-1];
    initial begin
        $readmemh(BETA_INIT, beta_t);
        $readmemh(KLUT_INIT, klut_t);
        $readmemh(PLUT_INIT, plut_t);
        $readmemh(PROW_INIT, prow_t);
        $readmemh(PCOL_INIT, pcol_t);
    end
    always_ff @(posedge clk) begin
        if (we_beta) beta_t[off_beta] <= BE_W'(wl_data);
        if (we_klut) klut_t[off_klut] <= LU_W'(wl_data);
        if (we_plut) plut_t[off_plut] <= LU_W'(wl_data);
        if (we_prow) prow_t[off_prow] <= PR_W'(wl_data);
        if (we_pcol) pcol_t[off_pcol] <= PC_W'(wl_data);
    end

    // ------------------------------------------------------------------ what a write makes stale
    // Per component k: its curve row (cdirty: {sv, alpha}[k, :] or beta[k] written; klut: every k) and
    // its basis rows (bdirty, GRID: z[k] written; plut, prow, pcol: every k). Reset marks all. A
    // regeneration recomputes only the stale components' curve / basis, then the weights they changed (each is a
    // sum over all k): a write of one component's parameter (a run-time update, a fault campaign's
    // flip) costs NO*S (curve) or GR*WD*GC + H*WD*GR (basis) cycles + the weight phase, not the whole
    // K-fold generation. A write during a regeneration restarts it with the union of what is stale.
    logic [K-1:0] cdirty, bdirty, set_c, set_b;
    for (genvar k = 0; k < K; k++) begin : g_dirty
        // the address is in component k's words: above its first (always, for k = 0) and below the next's
        wire svr_k, z_k;
        if (k == 0) begin : g_first
            assign svr_k = la < (WAW+1)'(S);
            assign z_k = off_z0 < (WAW+1)'(GR * GC);
        end else begin : g_next
            assign svr_k = la >= (WAW+1)'(k * S) && la < (WAW+1)'((k + 1) * S);
            assign z_k = off_z0 >= (WAW+1)'(k * GR * GC) && off_z0 < (WAW+1)'((k + 1) * GR * GC);
        end
        assign set_c[k] = (we_svr && svr_k) || (we_beta && off_beta == KA'(k)) || we_klut;
        if (GRID != 0) begin : g_b
            assign set_b[k] = (we_z && z_k) || we_plut || we_prow || we_pcol;
        end else begin : g_nb
            assign set_b[k] = 1'b0;
        end
    end

    // ------------------------------------------------------------------ sequencer (issue)
    // restart -> SEL(k=0): CURVE(k) if cdirty[k], then MID(k), ROW(k) if bdirty[k], SEL(k+1) ...
    // SEL(K) -> WGT -> DONE. SEL takes one cycle a visit; each phase ends with its drain.
    logic [2:0] ph;
    logic drain, done;
    logic [CTW-1:0] c0, c1, c2, c3;                 // loop counters, c0 innermost
    logic [KB-1:0] bk;                              // component of the CURVE/MID/ROW phases (K: all done)
    logic [SVA-1:0] svr_a, svr_base;                // {sv, alpha} word k*S + s; base k*S
    logic [ZA-1:0] z_a, z_base;                     // z word (k*GR + a)*GC + b; base k*GR*GC
    logic [BAA-1:0] bas_base;                       // basis word k*SF (ROW's first word)
    logic [MA-1:0] mid_ra;                          // mid a*WD + c
    logic [BAA-1:0] bas_ra;                         // basis word k*SF + sf
    logic [CA-1:0] cur_ra;                          // curve (of*PE + p)*K + k
    logic v1, v2, v3;
    logic [2:0] ph1, ph2, ph3;
    logic pipe_empty;                               // no term in stages 1-5 (the phase's writes landed)
    logic f1, l1, f2, l2;

    // What the weight phase must rewrite (why: a fault campaign's generator flip changes a few curve
    // entries or basis words, and the weight phase, 80% of a one-component regeneration, rewrote all
    // NF*SF words): wcol[of] (column group of: some curve entry j = of*PE + p changed) and wrow[sf]
    // (basis word sf of some component changed), set by comparing each curve / basis write with the
    // word it replaces; all set at reset, cleared when a weight phase ends. The weight phase issues
    // the (of, sf) words with wcol[of] | wrow[sf] and spends one cycle on each other word (one on a
    // whole column when no basis word changed). colsh / rowsh are their copies, rotated as the
    // phase walks, so the decision reads bit 0 (no 256:1 multiplexer on the issue path).
    logic [NF-1:0] wcol, wcol_nx, colsh;
    logic [SF-1:0] wrow, wrow_nx, rowsh;
    logic rclean;                                   // this weight phase: no basis word changed
    logic [MWAW-1:0] wa_i;                          // weight word of*SF + sf of the issued pair
    logic cmp_busy;                                 // a basis-word comparison still in flight

    logic [CTW-1:0] lim0, lim1, lim2, lim3;         // last value of each counter in this phase
    always_comb begin
        case (ph)
            PH_CURVE: begin lim0 = CTW'(S - 1);  lim1 = CTW'(NO - 1); lim2 = '0;           lim3 = '0; end
            PH_MID:   begin lim0 = CTW'(GC - 1); lim1 = CTW'(WD - 1); lim2 = CTW'(GR - 1); lim3 = '0; end
            PH_ROW:   begin lim0 = CTW'(GR - 1); lim1 = CTW'(WD - 1); lim2 = CTW'(H - 1);  lim3 = '0; end
            default:  begin lim0 = CTW'(K - 1);  lim1 = CTW'(PE - 1); lim2 = CTW'(SF - 1); lim3 = CTW'(NF - 1); end
        endcase
    end
    wire e0 = c0 == lim0, e1 = c1 == lim1, e2 = c2 == lim2, e3 = c3 == lim3;
    wire sel = ph == PH_SEL;
    wire pair0 = c0 == '0 && c1 == '0;              // WGT: first term of an (of, sf) word
    wire skip = ph == PH_WGT && !done && !drain && pair0 && !colsh[0] && !rowsh[0];
    wire iss = !done && !drain && !sel && !skip;
    wire [SF-1:0] rowsh_rot = (rowsh >> 1) | (rowsh << (SF - 1));   // rotate: word sf + 1 to bit 0
    wire restart = rst || wl_we;
    wire bk_end = bk == KB'(K);
    wire bk_c = !bk_end && cdirty[KA'(bk)];
    wire bk_b = GRID != 0 && !bk_end && bdirty[KA'(bk)];
    wire ph_end = !restart && drain && pipe_empty;   // the phase's last write landed
    wire [K-1:0] bk_hot = K'(1) << bk;

    always_ff @(posedge clk) begin
        if (rst) begin
            cdirty <= '1;
            bdirty <= GRID != 0 ? '1 : '0;
        end else begin
            cdirty <= (cdirty & ~(ph_end && ph == PH_CURVE ? bk_hot : '0)) | set_c;
            bdirty <= (bdirty & ~(ph_end && ph == PH_ROW ? bk_hot : '0)) | set_b;
        end
    end

    always_ff @(posedge clk) begin
        if (restart) begin
            ph <= PH_SEL;
            drain <= 1'b0;
            done <= 1'b0;
            {c0, c1, c2, c3} <= '0;
            bk <= '0;
            svr_a <= '0;
            z_a <= '0;
            svr_base <= '0;
            z_base <= '0;
            bas_base <= '0;
            mid_ra <= '0;
            bas_ra <= '0;
            cur_ra <= '0;
        end else if (iss) begin
            c0 <= e0 ? '0 : c0 + CTW'(1);
            if (e0) c1 <= e1 ? '0 : c1 + CTW'(1);
            if (e0 && e1) c2 <= e2 ? '0 : c2 + CTW'(1);
            if (e0 && e1 && e2) c3 <= e3 ? '0 : c3 + CTW'(1);
            if (e0 && e1 && e2 && e3) drain <= 1'b1;
            case (ph)
                PH_CURVE: svr_a <= e0 ? svr_base : svr_a + SVA'(1);
                PH_MID: z_a <= (e0 && !e1) ? z_a - ZA'(GC - 1) : z_a + ZA'(1);
                PH_ROW: mid_ra <= e0 ? (e1 ? '0 : MA'(c1) + MA'(1)) : mid_ra + MA'(WD);
                default: begin
                    bas_ra <= e0 ? (e1 ? (e2 ? '0 : BAA'(c2) + BAA'(1)) : BAA'(c2)) : bas_ra + BAA'(SF);
                    cur_ra <= (e0 && e1 && !e2) ? cur_ra - CA'(PE * K - 1) : cur_ra + CA'(1);
                    if (e0 && e1) begin                 // the word's last term: on to the next word
                        wa_i <= wa_i + MWAW'(1);
                        rowsh <= rowsh_rot;
                        if (e2) colsh <= colsh >> 1;
                    end
                end
            endcase
        end else if (skip) begin                       // a word (or column) nothing changed: no term
            if (rclean) begin                          // no basis word changed: the whole column (sf = 0)
                c3 <= e3 ? '0 : c3 + CTW'(1);
                wa_i <= wa_i + MWAW'(SF);
                colsh <= colsh >> 1;
                cur_ra <= cur_ra + CA'(PE * K);
                if (e3) drain <= 1'b1;
            end else begin
                c2 <= e2 ? '0 : c2 + CTW'(1);
                if (e2) c3 <= e3 ? '0 : c3 + CTW'(1);
                wa_i <= wa_i + MWAW'(1);
                rowsh <= rowsh_rot;
                if (e2) colsh <= colsh >> 1;
                bas_ra <= e2 ? '0 : BAA'(c2) + BAA'(1);
                if (e2) cur_ra <= cur_ra + CA'(PE * K);
                if (e2 && e3) drain <= 1'b1;
            end
        end else if (sel) begin
            if (bk_end) begin
                if (!cmp_busy) begin                   // every compare has reached wcol / wrow
                    ph <= PH_WGT;
                    colsh <= wcol_nx;
                    rowsh <= wrow_nx;
                    rclean <= wrow_nx == '0;
                    wa_i <= '0;
                end
            end else if (bk_c) begin
                ph <= PH_CURVE;
                svr_a <= svr_base;
            end else if (bk_b) begin
                ph <= PH_MID;
                z_a <= z_base;
            end else begin
                bk <= bk + KB'(1);
                svr_base <= svr_base + SVA'(S);
                z_base <= z_base + ZA'(GR * GC);
                bas_base <= bas_base + BAA'(SF);
            end
        end else if (drain && pipe_empty) begin
            drain <= 1'b0;
            case (ph)
                PH_CURVE: ph <= PH_SEL;   // cdirty[bk] clears: SEL goes on to the basis or the next k
                PH_MID: ph <= PH_ROW;
                PH_ROW: ph <= PH_SEL;     // bdirty[bk] clears
                default: begin
                    ph <= PH_DONE;
                    done <= 1'b1;
                end
            endcase
        end
    end

    // ------------------------------------------------------------------ stage 1: memory read
    logic [CTW-1:0] x0, x1, x2;                     // c0, c1, c2 of the issued term
    // WGT: each term carries its weight word and whether it is the last row word / column group (the
    // only ones with padded lanes / columns) to the write: words are skipped, so no output counter
    localparam int TW = MWAW + 2;
    logic [TW-1:0] tg [0:9];                        // stages 1, R, A, B, C, 2, 3, 4, 5, 6
    always_ff @(posedge clk) begin
        tg[0] <= {wa_i, c2 == CTW'(SF - 1), c3 == CTW'(NF - 1)};
        for (int i = 1; i < 10; i++) tg[i] <= tg[i - 1];
    end
    wire [MWAW-1:0] t6_wa = tg[9][TW-1:2];
    wire t6_lsf = tg[9][1], t6_lof = tg[9][0];
    always_ff @(posedge clk) begin
        if (restart) v1 <= 1'b0;
        else v1 <= iss;
        ph1 <= ph;
        f1 <= c0 == '0;
        l1 <= e0;
        x0 <= c0;
        x1 <= c1;
        x2 <= c2;
    end
    logic [SV_W+AL_W-1:0] svr_q;
    wmem #(.DW(SV_W + AL_W), .DEPTH(R_SVR), .AW(SVA), .INIT(SVR_INIT)) u_svr (
        .clk(clk), .re(1'b1), .raddr(svr_a), .rdata(svr_q),
        .we(we_svr), .waddr(off_svr), .wdata((SV_W+AL_W)'(wl_data))
    );
    logic [Z_W-1:0] z_q;
    wmem #(.DW(Z_W), .DEPTH(ZD), .AW(ZA), .INIT(Z_INIT)) u_z (
        .clk(clk), .re(1'b1), .raddr(z_a), .rdata(z_q),
        .we(we_z), .waddr(off_z), .wdata(Z_W'(wl_data))
    );
    // basis: written by the ROW phase (GRID) or the load port (stored basis). In the ROW phase its read
    // port (idle then) reads the word being assembled, so the write can be compared with what it replaces;
    // the curve's likewise in the CURVE phase (the address of the next result's write)
    logic [BAA-1:0] bas_rd;
    logic [CA-1:0] cur_rd;
    logic [SIMD*BA_W-1:0] bas_q, bas_wd;
    logic bas_we;
    logic [BAA-1:0] bas_wa;
    logic [SIMD*BA_W-1:0] bas_gen_wd;
    logic bas_gen_we;
    logic [BAA-1:0] bas_gen_wa;
    logic [SFA-1:0] bas_gen_sf;
    assign bas_we = GRID != 0 ? bas_gen_we : we_bas_lp;
    assign bas_wa = GRID != 0 ? bas_gen_wa : off_bas;
    assign bas_wd = GRID != 0 ? bas_gen_wd : (SIMD*BA_W)'(wl_data);
    wmem #(.DW(SIMD * BA_W), .DEPTH(BD), .AW(BAA), .INIT(BASIS_INIT)) u_basis (
        .clk(clk), .re(1'b1), .raddr(bas_rd), .rdata(bas_q),
        .we(bas_we), .waddr(bas_wa), .wdata(bas_wd)
    );
    // curve and mid: generated (written before they are read, so no image), registered reads
    logic [CV_W-1:0] cur_q;
    logic [M_SW-1:0] mid_q;
    logic cur_we, mid_we;
    logic [CA-1:0] cur_wa;
    logic [MA-1:0] mid_wa;
    logic [CV_W-1:0] cur_wd;
    logic [M_SW-1:0] mid_wd;
    wmem #(.DW(CV_W), .DEPTH(CD), .AW(CA), .INIT_EN(0)) u_curve (
        .clk(clk), .re(1'b1), .raddr(cur_rd), .rdata(cur_q),
        .we(cur_we), .waddr(cur_wa), .wdata(cur_wd)
    );
    wmem #(.DW(M_SW), .DEPTH(MD), .AW(MA), .INIT_EN(0)) u_mid (
        .clk(clk), .re(1'b1), .raddr(mid_ra), .rdata(mid_q),
        .we(mid_we), .waddr(mid_wa), .wdata(mid_wd)
    );

    // ------------------------------------------------------------------ stages R, A-C: operands, distance, table
    // Why four stages before the products: placed and routed, a block RAM's clock-to-out (5.8 ns on
    // an ECP5), the |j - sv| distance, the table lookup and a multiplier in one cycle were the layer's
    // critical path. R registers the memory outputs as they are (no logic after the block RAMs: with the
    // phase's operand select there, the z table's output to opA was the routed critical path, 12.15 ns
    // at 82.3 MHz), A the phase's operand and distance inputs, B the distance, C the table entry;
    // generation is one-time, so they cost 4 cycles a phase, none a sample.
    logic vR, fR, lR;
    logic [2:0] phR;
    logic [CTW-1:0] xR0, xR1, xR2;
    logic [SV_W+AL_W-1:0] svr_r;
    logic [Z_W-1:0] z_r;
    logic [M_SW-1:0] mid_r;
    logic [SIMD*BA_W-1:0] bas_r;
    logic [CV_W-1:0] cur_r;
    always_ff @(posedge clk) begin
        if (restart) vR <= 1'b0;
        else vR <= v1;
        {phR, fR, lR, xR0, xR1, xR2} <= {ph1, f1, l1, x0, x1, x2};
        {svr_r, z_r, mid_r, bas_r, cur_r} <= {svr_q, z_q, mid_q, bas_q, cur_q};
    end
    function automatic logic [DW-1:0] absdiff(input logic [DW-1:0] a, input logic [DW-1:0] b);
        absdiff = a > b ? a - b : b - a;
    endfunction
    wire signed [AL_W-1:0] alpha_v = $signed(svr_r[AL_W-1:0]);
    wire signed [Z_W-1:0] z_v = $signed(z_r);
    wire signed [M_SW-1:0] mid_v = $signed(mid_r);
    logic vA, vB, vC;
    logic [2:0] phA, phB, phC;
    logic fA, lA, fB, lB, fC, lC;
    logic [KA-1:0] kA, kB, kC, k2, k3;               // CURVE: the term's component (its beta)
    logic [DW-1:0] daA, dbA, dB;
    logic signed [SA_W-1:0] opA, opB, opC;
    logic signed [LU_W-1:0] lutC;
    logic [SIMD*BA_W-1:0] basA, basB, basC;
    logic [CV_W-1:0] curA, curB, curC;
    always_ff @(posedge clk) begin
        if (restart) {vA, vB, vC} <= '0;
        else {vA, vB, vC} <= {vR, vA, vB};
        {phA, fA, lA, kA} <= {phR, fR, lR, KA'(bk)};  // bk holds while a phase's terms are in flight
        {phB, fB, lB, kB} <= {phA, fA, lA, kA};
        {phC, fC, lC, kC} <= {phB, fB, lB, kB};
        case (phR)
            PH_CURVE: begin daA <= DW'(xR1); dbA <= DW'(svr_r[AL_W +: SV_W]); opA <= SA_W'(alpha_v); end
            PH_MID:   begin daA <= DW'(xR1); dbA <= DW'(pcol_t[GCA'(xR0)]);   opA <= SA_W'(z_v); end
            default:  begin daA <= DW'(xR2); dbA <= DW'(prow_t[GRA'(xR0)]);   opA <= SA_W'(mid_v); end
        endcase
        basA <= bas_r;
        curA <= cur_r;
        dB <= absdiff(daA, dbA);
        opB <= opA;
        basB <= basA;
        curB <= curA;
        if (phB == PH_CURVE) lutC <= dB < DW'(KL) ? $signed(klut_t[KLA'(dB)]) : '0;
        else lutC <= dB < DW'(PL) ? $signed(plut_t[PLA'(dB)]) : '0;
        opC <= opB;
        basC <= basB;
        curC <= curB;
    end

    // ------------------------------------------------------------------ stage 2: products
    logic signed [SA_W-1:0] p2;
    logic signed [G_SW-1:0] pg2 [0:SIMD-1];
    always_ff @(posedge clk) begin
        if (restart) v2 <= 1'b0;
        else v2 <= vC;
        ph2 <= phC;
        f2 <= fC;
        l2 <= lC;
        k2 <= kC;
        p2 <= opC * SA_W'(lutC);
    end
    wire signed [CV_W-1:0] cur_v = $signed(curC);
    for (genvar s = 0; s < SIMD; s++) begin : g_gmul
        wire signed [BA_W-1:0] b_v = $signed(basC[s*BA_W +: BA_W]);
        always_ff @(posedge clk) pg2[s] <= G_SW'(b_v) * G_SW'(cur_v);
    end

    // ------------------------------------------------------------------ stage 3: accumulate
    logic signed [SA_W-1:0] acc;
    logic signed [G_SW-1:0] gacc [0:SIMD-1];
    always_ff @(posedge clk) begin
        if (restart) v3 <= 1'b0;
        else v3 <= v2 && l2;
        ph3 <= ph2;
        k3 <= k2;
        if (v2) acc <= (f2 ? '0 : acc) + p2;
    end
    for (genvar s = 0; s < SIMD; s++) begin : g_gacc
        always_ff @(posedge clk) if (v2) gacc[s] <= (f2 ? '0 : gacc[s]) + pg2[s];
    end

    // ------------------------------------------------------------------ stages 4-6: casts, then writes
    // Each cast is a requant lane cut in three by registers: stage 4 holds the value in the accumulator
    // type (the curve's beta added), stage 5 the rounded value (exact, RX bits: no overflow yet), stage
    // 6 the result brought into the output type. Why rounding and overflow apart: placed and routed,
    // the rounding adder followed by the 40-bit saturation compares was the WINGs design's critical
    // path (12.1 ns at 82.6 MHz on an ECP5); generation is one-time, so the stage costs a cycle a
    // phase, none a sample. The writes below act on stage 6 (w6) in issue order, so the casts never
    // wait on a write counter.
    // output-side counters (the pipe emits results in issue order; reset when a phase starts)
    logic [CA-1:0] o_ca;                             // CURVE: j*K + k (one component k a phase)
    logic [MA-1:0] o_ma;                             // MID: a*WD + c
    logic [OLW-1:0] o_lane;                         // ROW: i % SIMD; WGT: unused
    logic [BAA-1:0] o_bw;                            // ROW: basis word
    logic [OIW-1:0] o_i;                          // ROW: pixel i
    logic [CTW-1:0] o_p;                             // WGT: p
    logic [CA-1:0] o_ca_nx;                          // CURVE: o_ca + K (the next write's address)
    logic [CTW-1:0] o_cp;                            // CURVE: j % PE
    logic [PAW-1:0] o_cof;                           // CURVE: j / PE
    logic [SFA-1:0] o_bsf;                           // ROW: the basis word's sf (word k*SF + sf)
    logic v4, v5, v6;
    logic [2:0] ph4, ph5, ph6;
    assign pipe_empty = !v1 && !vR && !vA && !vB && !vC && !v2 && !v3 && !v4 && !v5 && !v6;
    // the output counters start over at a phase's end and in SEL (the pipe is empty in both)
    wire phase_start = ph_end || sel;
    always_ff @(posedge clk) begin
        if (restart) {v4, v5, v6} <= '0;
        else {v4, v5, v6} <= {v3, v4, v5};
        ph4 <= ph3;
        ph5 <= ph4;
        ph6 <= ph5;
    end

    // curve cast (sum + beta) and basis cast (no bias): wings_cast, three register stages (4, 5, 6)
    logic [C_OUT_W-1:0] c_y;
    logic [B_OUT_W-1:0] b_y;
    wings_cast #(
        .DOT_W(C_SW), .B_W(BE_W), .PS(C_PS), .BS(C_BS), .W(C_RW), .ACC_W(C_ACC_W), .OS(C_OS), .RND(C_RND),
        .OUT_W(C_OUT_W), .OUT_SIGNED(C_SIGNED), .OUT_OVF(C_OVF)
    ) u_ccast (.clk(clk), .dot(acc[C_SW-1:0]), .bias(beta_t[k3]), .y(c_y));
    wings_cast #(
        .DOT_W(B_SW), .B_W(1), .PS(0), .BS(0), .W(B_RW), .ACC_W(B_ACC_W), .OS(B_OS), .RND(B_RND),
        .OUT_W(B_OUT_W), .OUT_SIGNED(B_SIGNED), .OUT_OVF(B_OVF)
    ) u_bcast (.clk(clk), .dot(acc[B_SW-1:0]), .bias(1'b0), .y(b_y));
    logic [M_SW-1:0] mid4, mid5, mid6;
    always_ff @(posedge clk) begin
        mid4 <= acc[M_SW-1:0];
        mid5 <= mid4;
        mid6 <= mid5;
    end
    // stored (two's complement) forms: an unsigned type gets a zero sign bit
    wire [CV_W-1:0] c_st = CV_W'({1'b0, c_y});
    wire [BA_W-1:0] b_st = BA_W'({1'b0, b_y});

    // weight casts (stages 4 / 5 / 6 as above), masked to 0 on padded rows/columns at the write
    logic [SIMD*WW-1:0] g_lanes;
    wire col_ok = !t6_lof || CTW'((NF - 1) * PE) + o_p < CTW'(NO);
    for (genvar s = 0; s < SIMD; s++) begin : g_gcast
        logic [G_OUT_W-1:0] g_y;
        wings_cast #(
            .DOT_W(G_SW), .B_W(1), .PS(0), .BS(0), .W(G_RW), .ACC_W(G_ACC_W), .OS(G_OS), .RND(G_RND),
            .OUT_W(G_OUT_W), .OUT_SIGNED(G_SIGNED), .OUT_OVF(G_OVF)
        ) u_gcast (.clk(clk), .dot(gacc[s]), .bias(1'b0), .y(g_y));
        wire row_ok = !t6_lsf || (SF - 1) * SIMD + s < NI;
        assign g_lanes[s*WW +: WW] = (row_ok && col_ok) ? WW'({1'b0, g_y}) : '0;
    end

    // word assembly: ROW lanes (basis word) and WGT groups (weight word of PE x SIMD lanes)
    logic [SIMD*BA_W-1:0] bword;
    logic [PE*SIMD*WW-1:0] wword;
    logic mv_we;
    logic [MWAW-1:0] mv_wa;
    logic [PE*SIMD*WW-1:0] mv_wd;
    wire w6 = v6 && !restart;
    wire last_i = o_i == OIW'(NI - 1);
    // the word with this result in its lane / group (a decoder and 2:1 muxes, no barrel shifter)
    logic [SIMD*BA_W-1:0] bword_next;
    logic [PE*SIMD*WW-1:0] wword_next;
    // a component's last word: its padded lanes (i >= NI) are written 0, not what the previous word
    // left there, so its comparison sees only real basis values
    logic [SIMD*BA_W-1:0] bword_last;
    for (genvar s = 0; s < SIMD; s++) begin : g_blane
        assign bword_next[s*BA_W +: BA_W] = o_lane == OLW'(s) ? b_st : bword[s*BA_W +: BA_W];
        assign bword_last[s*BA_W +: BA_W] = (SF - 1) * SIMD + s < NI ? bword_next[s*BA_W +: BA_W] : '0;
    end
    for (genvar q = 0; q < PE; q++) begin : g_wgrp
        assign wword_next[q*SIMD*WW +: SIMD*WW] = o_p == CTW'(q) ? g_lanes : wword[q*SIMD*WW +: SIMD*WW];
    end

    always_comb begin
        cur_we = w6 && ph6 == PH_CURVE;
        cur_wa = o_ca;
        cur_wd = c_st;
        mid_we = w6 && ph6 == PH_MID;
        mid_wa = o_ma;
        mid_wd = mid6;
    end

    always_ff @(posedge clk) begin
        bas_gen_we <= 1'b0;
        mv_we <= 1'b0;
        if (restart || phase_start) begin
            o_ca <= CA'(bk);
            o_ca_nx <= CA'(bk) + CA'(K);
            o_cp <= '0;
            o_cof <= '0;
            o_ma <= '0;
            o_lane <= '0;
            o_i <= '0;
            o_p <= '0;
            o_bw <= bas_base;
            o_bsf <= '0;
        end else if (w6) begin
            case (ph6)
                PH_CURVE: begin
                    o_ca <= o_ca_nx;
                    o_ca_nx <= o_ca_nx + CA'(K);
                    o_cp <= o_cp == CTW'(PE - 1) ? '0 : o_cp + CTW'(1);
                    if (o_cp == CTW'(PE - 1)) o_cof <= o_cof + PAW'(1);
                end
                PH_MID: o_ma <= o_ma + MA'(1);
                PH_ROW: begin
                    o_i <= o_i + OIW'(1);
                    if (o_lane == OLW'(SIMD - 1) || last_i) begin
                        bas_gen_we <= 1'b1;
                        bas_gen_wa <= o_bw;
                        bas_gen_sf <= o_bsf;
                        bas_gen_wd <= last_i ? bword_last : bword_next;
                        o_lane <= '0;
                        o_bw <= o_bw + BAA'(1);
                        o_bsf <= o_bsf + SFA'(1);
                    end else begin
                        bword <= bword_next;
                        o_lane <= o_lane + OLW'(1);
                    end
                end
                default: begin  // PH_WGT
                    if (o_p == CTW'(PE - 1)) begin
                        mv_we <= 1'b1;
                        mv_wa <= t6_wa;
                        mv_wd <= wword_next;
                        o_p <= '0;
                    end else begin
                        wword <= wword_next;
                        o_p <= o_p + CTW'(1);
                    end
                end
            endcase
        end
    end

    // ------------------------------------------------------------------ what changed (wcol / wrow)
    // read addresses: the compare's in the CURVE / ROW phase, the weight phase's otherwise
    assign cur_rd = ph == PH_CURVE ? (w6 ? o_ca_nx : o_ca) : cur_ra;
    assign bas_rd = GRID != 0 && ph == PH_ROW ? o_bw : bas_ra;
    // curve: the word read is the one the write at stage 6 replaces; registered compare
    logic chg_c;
    logic [PAW-1:0] chg_of;
    always_ff @(posedge clk) begin
        chg_c <= cur_we && cur_q != c_st;
        chg_of <= o_cof;
    end
    // basis (ROW): bas_q is the word bas_gen_we overwrites; operands registered, then compared
    logic chk_b, chg_b;
    logic [SIMD*BA_W-1:0] bq_r, bw_r;
    logic [SFA-1:0] chk_sf, chg_sf;
    always_ff @(posedge clk) begin
        chk_b <= GRID != 0 && bas_gen_we;
        bq_r <= bas_q;
        bw_r <= bas_gen_wd;
        chk_sf <= bas_gen_sf;
        chg_b <= chk_b && bq_r != bw_r;
        chg_sf <= chk_sf;
    end
    assign cmp_busy = bas_gen_we || chk_b;
    wire wgt_end = ph_end && ph == PH_WGT;
    always_comb begin
        wcol_nx = wcol;
        if (chg_c) wcol_nx[chg_of] = 1'b1;
        wrow_nx = wrow;
        if (chg_b) wrow_nx[chg_sf] = 1'b1;
        if (we_bas_lp) wrow_nx = '1;               // a stored basis word: every row (no comparison)
    end
    always_ff @(posedge clk) begin
        if (rst) begin
            wcol <= '1;
            wrow <= '1;
        end else begin
            wcol <= wgt_end ? '0 : wcol_nx;
            wrow <= wgt_end ? '0 : wrow_nx;
        end
    end

    // ------------------------------------------------------------------ the dense part: mvau
    wire mv_s_tready;
    assign s_tready = done && mv_s_tready;
    mvau #(
        .N(N), .M(M), .PE(PE), .SIMD(SIMD), .XW(XW), .X_SIGNED(X_SIGNED), .WW(WW), .DOT_W(DOT_W), .SH_W(1),
        .B_W(B_W), .PS(PS), .BS(BS), .RW(RW), .ACC_W(ACC_W), .ACC_SIGNED(ACC_SIGNED), .ACC_OVF(ACC_OVF),
        .RELU(RELU), .OS(OS), .RND(RND), .OUT_W(OUT_W), .OUT_SIGNED(OUT_SIGNED), .OUT_OVF(OUT_OVF),
        .W_INIT(W_INIT), .P_INIT(P_INIT), .DOT_LVL(DOT_LVL), .OP_REG(OP_REG)
    ) u_mvau (
        .clk(clk), .rst(rst),
        .s_tdata(s_tdata), .s_tvalid(s_tvalid && done), .s_tready(mv_s_tready),
        .m_tdata(m_tdata), .m_tvalid(m_tvalid), .m_tready(m_tready), .m_tlast(m_tlast),
        .wl_we(mv_we), .wl_addr(mv_wa), .wl_data(mv_wd),
        .pl_we(pl_we), .pl_addr(pl_addr), .pl_data(pl_data), .ck_alarm()
    );
endmodule

// A generator cast in three register stages (the previous session's routed critical path was the weight
// cast's rounding adder plus its saturation compare in one cycle): stage 4 the sum (+ bias) in the
// accumulator type, stage 5 the rounding, stage 6 the overflow to the output type; y is registered, three
// cycles after dot. One module for the curve, basis and weight casts, which differ only in their types.
module wings_cast #(
    parameter int DOT_W = 8, parameter int B_W = 1, parameter int PS = 0, parameter int BS = 0,
    parameter int W = 8, parameter int ACC_W = 8, parameter int OS = 0, parameter int RND = 0,
    parameter int OUT_W = 8, parameter int OUT_SIGNED = 1, parameter int OUT_OVF = 0
) (
    input  logic             clk,
    input  logic [DOT_W-1:0] dot,
    input  logic [B_W-1:0]   bias,
    output logic [OUT_W-1:0] y
);
    localparam int AX = ACC_W + 1;
    localparam int RX = AX + (OS < 0 ? -OS : 0);                  // rounded value, before overflow
    logic [ACC_W-1:0] a3;
    logic [AX-1:0] a4;
    logic [RX-1:0] r4, r5;
    logic [OUT_W-1:0] y5;
    requant #(
        .DOT_W(DOT_W), .SH_W(1), .B_W(B_W), .PS(PS), .BS(BS), .W(W), .ACC_W(ACC_W), .ACC_SIGNED(1),
        .ACC_OVF(0), .RELU(0), .OS(0), .RND(0), .OUT_W(ACC_W), .OUT_SIGNED(1), .OUT_OVF(0), .PART(1)
    ) u_acc (.dot(dot), .shift(1'b0), .bias(bias), .y(a3));
    requant #(
        .DOT_W(AX), .SH_W(1), .B_W(1), .PS(0), .BS(0), .W(W), .ACC_W(ACC_W), .ACC_SIGNED(1),
        .ACC_OVF(0), .RELU(0), .OS(OS), .RND(RND), .OUT_W(RX), .OUT_SIGNED(1), .OUT_OVF(0), .PART(2)
    ) u_rnd (.dot(a4), .shift(1'b0), .bias(1'b0), .y(r4));
    requant #(
        .DOT_W(RX), .SH_W(1), .B_W(1), .PS(0), .BS(0), .W(W), .ACC_W(ACC_W), .ACC_SIGNED(1),
        .ACC_OVF(0), .RELU(0), .OS(0), .RND(0), .OUT_W(OUT_W), .OUT_SIGNED(OUT_SIGNED), .OUT_OVF(OUT_OVF),
        .PART(2)
    ) u_out (.dot(r5), .shift(1'b0), .bias(1'b0), .y(y5));
    always_ff @(posedge clk) begin
        a4 <= {a3[ACC_W-1], a3};
        r5 <= r4;
        y <= y5;
    end
endmodule
