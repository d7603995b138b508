// kron_matvec.sv -- folded Kronecker (separable) mat-vec engine with its requantization epilogue.
//
// Computes one `kron_dense` layer (codesign/emulator.py kron_matvec) without building W:
//   X = x as (N2 x N1) row-major, x[i2*N1 + i1]
//   stage 1: mid[r, i2, j1] = cast(sum_i1 X[i2, i1] * A[r, j1, i1], mid type)   (requant, no bias)
//   stage 2: acc[j2, j1]   = sum_r sum_i2 B[r, j2, i2] * mid[r, i2, j1]         (exact)
//            y[j2*M1 + j1] = requant(acc + bias)                                 (as mvau)
// Both stages share ONE array of PE x SIMD MAC lanes (dot_simd), time-multiplexed per sample, so
// an engine with the lanes of a dense mvau needs R*(N2*N1*M1 + M2*N2*M1) / (PE*SIMD) cycles, the
// MAC ratio of the factorisation, plus a few cycles draining the pipe between the stages.
//   stage 1 order: r, i2, j1 fold (PE lanes over j1), i1 fold (SIMD lanes over i1)
//                  lane (p, s) multiplies X[i2, i1f*SIMD+s] by A[r, j1f*PE+p, i1f*SIMD+s]
//   stage 2 order: j2, j1 fold (PE lanes over j1), k fold (SIMD lanes over k = r*N2 + i2, padded to KP)
//                  lane (p, s) multiplies mid[k, j1f*PE+p] by B[k][j2] (B shared by the PE lanes)
// PE lanes over j1 make each output beat PE consecutive outputs of row-major y, so the stream
// order is the layer's output order (PE must divide M1; SIMD must divide N1, so an input beat is
// part of one row of X).
// Intermediate buffer: mid for all r and i2 (KP x M1 values) in SIMD banks (bank k % SIMD, word
// (k / SIMD)*J1F + j1f, PE values a word): stage 1 writes one bank word per finished output fold,
// stage 2 reads one word of every bank per cycle. One buffer suffices: stage 1 of the next sample
// writes only after stage 2's last read (reads are issued 4 cycles before writes land). Between
// the stages the sequencer idles DRAIN issue slots (0..15) so that no stage-2 read of a mid word
// comes before stage 1's write of it lands; the generator computes the fewest safe DRAIN from the
// schedule (codesign/rtl/kron.py drain_cycles); 4 + mac_pipe's extra stages DS is always safe.
// Input: AXI-Stream, SIMD elements per beat, N/SIMD beats a sample, double-buffered; the bank is
// released when stage 1 ends, so the next sample loads during stage 2.
// Output: AXI-Stream, PE elements per beat, tlast on the sample's last beat.
// Factor memory (load port wl_*): words 0 .. DA-1 hold A, word (r*J1F + j1f)*I1F + i1f with lane
// (p, s) at bits (p*SIMD+s)*AW; words DA .. DA+DB-1 hold B, word DA + j2*KF + kf with lane s at
// bits s*BW (B[r, j2, i2] for k = kf*SIMD+s = r*N2+i2, zero for padded k). Parameter memory
// (pl_*): word j2*J1F + j1f, lane p = {1'b0 shift, bias} at bits p*(1+B_W), as mvau.
// Zero factor entries are not skipped: the factors are dense after training (the L1 penalty leaves
// few exact zeros), and a skip would break the fixed schedule that keeps every lane busy.
// Input buffer: axis_inbuf, as mvau. Pipeline and stall: as mvau (issue -> read -> dot -> accumulate
// -> requant/out, the stages after the read in mac_pipe), a pipe that never stalls: terms issue while
// mac_pipe has `room` for a sum, every stage advances each cycle; stage-1 sums leave mac_pipe at
// stage 3 for the mid cast (registered) and write.
module kron_matvec #(
    parameter int N1 = 4,
    parameter int N2 = 4,
    parameter int M1 = 2,
    parameter int M2 = 2,
    parameter int R = 1,
    parameter int PE = 2,
    parameter int SIMD = 2,
    parameter int XW = 8,
    parameter int X_SIGNED = 0,
    parameter int AW = 4,            // stored width of A entries (two's complement)
    parameter int BW = 4,            // stored width of B entries
    parameter int MID_W = 12,
    parameter int MID_SIGNED = 1,
    parameter int UW = 13,           // shared multiplier operand width (signed)
    parameter int WU = 4,            // shared multiplier weight width (signed)
    parameter int DOT_W = 20,
    parameter int OS1 = 0,           // stage-1 cast: (in.frac + a.frac) - mid.frac
    parameter int RND1 = 0,
    parameter int MID_OVF = 1,
    parameter int RW1 = 24,
    parameter int B_W = 2,
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
    parameter int DRAIN = 3,         // idle issue slots between stage 1 and stage 2 (0..15)
    parameter int DOT_LVL = 2,       // mac_pipe's adder-tree levels a cycle
    parameter int OP_REG = 1,        // mac_pipe's operand register
    parameter int MREG = 1,          // mac_pipe's multiplier-lane registers (codesign/rtl/kron.py KRON_MREG)
    parameter A_INIT = "a.mem",
    parameter B_INIT = "b.mem",
    parameter P_INIT = "p.mem",
    parameter int I1F = N1 / SIMD,
    parameter int J1F = M1 / PE,
    parameter int KF = (R * N2 + SIMD - 1) / SIMD,
    parameter int DA = R * J1F * I1F,
    parameter int DB = M2 * KF,
    parameter int WAW = DA + DB > 1 ? $clog2(DA + DB) : 1,
    parameter int WLD = PE * SIMD * AW > SIMD * BW ? PE * SIMD * AW : SIMD * BW,
    parameter int NB = M2 * J1F,                             // output beats = parameter words
    parameter int PAW = NB > 1 ? $clog2(NB) : 1,
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
    localparam int SF = N2 * I1F;                             // input beats a sample
    localparam int SCW = SF > 1 ? $clog2(SF) : 1;
    localparam int AAW = DA > 1 ? $clog2(DA) : 1;
    localparam int BAW = DB > 1 ? $clog2(DB) : 1;
    localparam int MD = KF * J1F;                             // words per mid bank
    localparam int MAW = MD > 1 ? $clog2(MD) : 1;
    localparam int IC = I1F > 1 ? $clog2(I1F) : 1;
    localparam int JC = J1F > 1 ? $clog2(J1F) : 1;
    localparam int N2C = N2 > 1 ? $clog2(N2) : 1;
    localparam int RC = R > 1 ? $clog2(R) : 1;
    localparam int KC = KF > 1 ? $clog2(KF) : 1;
    localparam int M2C = M2 > 1 ? $clog2(M2) : 1;
    localparam int SBC = SIMD > 1 ? $clog2(SIMD) : 1;
    localparam int J1I1 = J1F * I1F;
    localparam logic [1:0] PH_S1 = 2'd0, PH_DRAIN = 2'd1, PH_S2 = 2'd2;

    // ------------------------------------------------------------------ input double buffer
    logic full;
    logic [SIMD*XW-1:0] x1;
    logic room, end1;
    logic [SCW-1:0] xaddr;               // input beat i2*I1F + i1f
    axis_inbuf #(.DW(SIMD * XW), .BEATS(SF), .BAW(SCW)) u_inbuf (
        .clk(clk), .rst(rst), .s_tdata(s_tdata), .s_tvalid(s_tvalid), .s_tready(s_tready),
        .full(full), .re(1'b1), .raddr(xaddr), .rdata(x1), .rdone(end1)
    );

    // ------------------------------------------------------------------ sequencer (stage 0)
    logic [1:0] phase;
    // stage-1 counters and addresses
    logic [IC-1:0] i1f;
    logic [JC-1:0] j1f;
    logic [N2C-1:0] i2;
    logic [RC-1:0] r;
    logic [AAW-1:0] abase, aaddr;        // A word (r*J1F + j1f)*I1F + i1f
    logic [SCW-1:0] xbase;               // i2*I1F
    logic [SBC-1:0] kb;                  // mid bank of k = r*N2 + i2
    logic [MAW-1:0] kwbase;              // (k / SIMD) * J1F
    logic [MAW-1:0] mwaddr;              // kwbase + j1f
    // stage-2 counters and addresses
    logic [KC-1:0] kf;
    logic [M2C-1:0] j2;
    logic [BAW-1:0] bbase, baddr;        // B word j2*KF + kf
    logic [MAW-1:0] mraddr;              // mid word kf*J1F + j1f
    logic [PAW-1:0] ob;                  // output beat / parameter word j2*J1F + j1f

    logic [3:0] dcnt;                                  // idle slots spent in PH_DRAIN
    wire drained = dcnt == 4'(DRAIN);
    wire s1 = phase == PH_S1;
    // stage 2 issues in the slot after the last drain slot (the pipe never stalls, so a mid write lands
    // a fixed number of cycles after its row's last issue; a slot without room only delays the read)
    wire s2 = phase == PH_S2 || (phase == PH_DRAIN && drained);
    wire issue1 = room && s1 && full;
    wire issue2 = room && s2;
    wire issue = issue1 || issue2;
    wire last_i1f = i1f == IC'(I1F - 1);
    wire last_j1f = j1f == JC'(J1F - 1);
    wire last_i2 = i2 == N2C'(N2 - 1);
    wire last_r = r == RC'(R - 1);
    wire last_kf = kf == KC'(KF - 1);
    wire last_j2 = j2 == M2C'(M2 - 1);
    wire blk1 = last_i1f && last_j1f;                  // end of one (r, i2) row of stage 1
    assign end1 = issue1 && blk1 && last_i2 && last_r;
    wire end2 = issue2 && last_kf && last_j1f && last_j2;

    always_ff @(posedge clk) begin
        if (rst) begin
            phase <= PH_S1;
            dcnt <= '0;
            i1f <= '0; j1f <= '0; i2 <= '0; r <= '0;
            abase <= '0; aaddr <= '0; xbase <= '0; xaddr <= '0;
            kb <= '0; kwbase <= '0; mwaddr <= '0;
            kf <= '0; j2 <= '0; bbase <= '0; baddr <= '0; mraddr <= '0; ob <= '0;
        end else begin
            if (issue1) begin
                i1f <= last_i1f ? '0 : i1f + IC'(1);
                if (last_i1f) j1f <= last_j1f ? '0 : j1f + JC'(1);
                if (!blk1) begin
                    aaddr <= aaddr + AAW'(1);
                    xaddr <= last_i1f ? xbase : xaddr + SCW'(1);
                    if (last_i1f) mwaddr <= mwaddr + MAW'(1);
                end else begin
                    // next (r, i2) row: k = r*N2 + i2 advances by one
                    i2 <= last_i2 ? '0 : i2 + N2C'(1);
                    if (last_i2) r <= last_r ? '0 : r + RC'(1);
                    if (end1) begin
                        abase <= '0; aaddr <= '0; xbase <= '0; xaddr <= '0;
                        kb <= '0; kwbase <= '0; mwaddr <= '0;
                    end else begin
                        if (last_i2) begin
                            abase <= abase + AAW'(J1I1);
                            aaddr <= abase + AAW'(J1I1);
                            xbase <= '0;
                            xaddr <= '0;
                        end else begin
                            aaddr <= abase;
                            xbase <= xbase + SCW'(I1F);
                            xaddr <= xbase + SCW'(I1F);
                        end
                        if (kb == SBC'(SIMD - 1)) begin
                            kb <= '0;
                            kwbase <= kwbase + MAW'(J1F);
                            mwaddr <= kwbase + MAW'(J1F);
                        end else begin
                            kb <= kb + SBC'(1);
                            mwaddr <= kwbase;
                        end
                    end
                end
                if (end1) begin
                    phase <= DRAIN == 0 ? PH_S2 : PH_DRAIN;
                    dcnt <= '0;
                end
            end
            if (phase == PH_DRAIN) begin
                if (drained) phase <= PH_S2;
                else dcnt <= dcnt + 4'd1;
            end
            if (issue2) begin
                kf <= last_kf ? '0 : kf + KC'(1);
                if (last_kf) begin
                    j1f <= last_j1f ? '0 : j1f + JC'(1);
                    ob <= end2 ? '0 : ob + PAW'(1);
                    if (last_j1f) begin
                        j2 <= last_j2 ? '0 : j2 + M2C'(1);
                        bbase <= end2 ? '0 : bbase + BAW'(KF);
                        baddr <= end2 ? '0 : bbase + BAW'(KF);
                        mraddr <= '0;
                    end else begin
                        baddr <= bbase;
                        mraddr <= MAW'(j1f) + MAW'(1);
                    end
                end else begin
                    baddr <= baddr + BAW'(1);
                    mraddr <= mraddr + MAW'(J1F);
                end
                if (end2) phase <= PH_S1;
            end
        end
    end

    // ------------------------------------------------------------------ stage 1: memory read
    logic [PE*SIMD*AW-1:0] wa1;
    logic [SIMD*BW-1:0] wb1;
    logic [SIMD*PE*MID_W-1:0] md1;
    logic st2_1;                         // stage 1 holds a stage-2 term (operand select)
    always_ff @(posedge clk) st2_1 <= s2;
    wire a_we = wl_we && wl_addr < WAW'(DA);
    wire b_we = wl_we && wl_addr >= WAW'(DA);
    wire [AAW-1:0] a_wa = AAW'(wl_addr);
    wire [BAW-1:0] b_wa = BAW'(wl_addr - WAW'(DA));
    wmem #(.DW(PE * SIMD * AW), .DEPTH(DA), .AW(AAW), .INIT(A_INIT)) u_amem (
        .clk(clk), .re(1'b1), .raddr(aaddr), .rdata(wa1),
        .we(a_we), .waddr(a_wa), .wdata(wl_data[PE*SIMD*AW-1:0])
    );
    wmem #(.DW(SIMD * BW), .DEPTH(DB), .AW(BAW), .INIT(B_INIT)) u_bmem (
        .clk(clk), .re(1'b1), .raddr(baddr), .rdata(wb1),
        .we(b_we), .waddr(b_wa), .wdata(wl_data[SIMD*BW-1:0])
    );
    // mid banks: written by stage-1 results (stage 3 below), read by stage-2 issue; no image (every
    // word stage 2 reads is written by stage 1 of the same sample first)
    logic mid_we;
    logic [SBC-1:0] kb3, kb4;
    logic [MAW-1:0] mw3, mw4;
    logic [PE*MID_W-1:0] ymid;
    for (genvar s = 0; s < SIMD; s++) begin : g_bank
        wmem #(.DW(PE * MID_W), .DEPTH(MD), .AW(MAW), .INIT_EN(0)) u_bank (
            .clk(clk), .re(1'b1), .raddr(mraddr), .rdata(md1[s*PE*MID_W +: PE*MID_W]),
            .we(mid_we && kb4 == SBC'(s)), .waddr(mw4), .wdata(ymid)
        );
    end

    // ------------------------------------------------------------------ stages 2-4 (mac_pipe), mid write
    // shared lanes: stage 1 feeds (X, A), stage 2 (mid, B), both widened to signed UW x WU
    logic [PE*SIMD*UW-1:0] ux;
    logic [PE*SIMD*WU-1:0] uw;
    for (genvar p = 0; p < PE; p++) begin : g_pe
        for (genvar s = 0; s < SIMD; s++) begin : g_s
            wire [XW-1:0] xr = x1[s*XW +: XW];
            wire [MID_W-1:0] mr = md1[(s*PE+p)*MID_W +: MID_W];
            wire signed [XW:0] xs = (X_SIGNED != 0) ? $signed({xr[XW-1], xr}) : $signed({1'b0, xr});
            wire signed [MID_W:0] ms = (MID_SIGNED != 0) ? $signed({mr[MID_W-1], mr}) : $signed({1'b0, mr});
            wire signed [AW-1:0] as_ = wa1[(p*SIMD+s)*AW +: AW];
            wire signed [BW-1:0] bs_ = wb1[s*BW +: BW];
            assign ux[(p*SIMD+s)*UW +: UW] = st2_1 ? UW'(ms) : UW'(xs);
            assign uw[(p*SIMD+s)*WU +: WU] = st2_1 ? WU'(bs_) : WU'(as_);
        end
    end
    logic [PE*DOT_W-1:0] acc;
    logic v3, st2_3;
    logic [SBC+MAW-1:0] sb3;
    assign {kb3, mw3} = sb3;
    mac_pipe #(
        .PE(PE), .SIMD(SIMD), .XW(UW), .X_SIGNED(1), .WW(WU), .DOT_W(DOT_W), .SH_W(1),
        .B_W(B_W), .PS(PS), .BS(BS), .RW(RW), .ACC_W(ACC_W), .ACC_SIGNED(ACC_SIGNED), .ACC_OVF(ACC_OVF),
        .RELU(RELU), .OS(OS), .RND(RND), .OUT_W(OUT_W), .OUT_SIGNED(OUT_SIGNED), .OUT_OVF(OUT_OVF),
        .P_INIT(P_INIT), .NP(NB), .PAW(PAW), .PDW(PDW), .SBW(SBC + MAW), .DOT_LVL(DOT_LVL), .OP_REG(OP_REG),
        .MREG(MREG)
    ) u_mac (
        .clk(clk), .rst(rst), .room(room),
        .issue(issue), .first(s2 ? kf == '0 : i1f == '0), .last(s2 ? last_kf : last_i1f),
        .tlast(last_j2 && last_j1f), .emit(s2), .paddr(ob), .sb({kb, mwaddr}),
        .x(ux), .w(uw),
        .acc(acc), .v3(v3), .emit3(st2_3), .sb3(sb3),
        .m_tdata(m_tdata), .m_tvalid(m_tvalid), .m_tready(m_tready), .m_tlast(m_tlast),
        .pl_we(pl_we), .pl_addr(pl_addr), .pl_data(pl_data), .ck_alarm()
    );
    // stage-1 sums: cast to the mid type, registered, and written to the mid bank of k one edge later
    // (stage-2 sums leave via u_mac). Why the register: the cast's rounding add and saturation plus the
    // block RAM's write setup in the accumulator's cycle was the engine's critical path once the MAC
    // lanes were pipelined; it costs one more edge from a row's last issue to its mid write
    // (codesign/rtl/kron.py MAX_DRAIN), no cycle per term.
    logic [PE*MID_W-1:0] ymid3;
    for (genvar p = 0; p < PE; p++) begin : g_rq
        requant #(
            .DOT_W(DOT_W), .SH_W(1), .B_W(1), .PS(0), .BS(0), .W(RW1),
            .ACC_W(DOT_W), .ACC_SIGNED(1), .ACC_OVF(0), .RELU(0),
            .OS(OS1), .RND(RND1), .OUT_W(MID_W), .OUT_SIGNED(MID_SIGNED), .OUT_OVF(MID_OVF)
        ) u_rq1 (
            .dot(acc[p*DOT_W +: DOT_W]), .shift(1'b0), .bias(1'b0), .y(ymid3[p*MID_W +: MID_W])
        );
    end
    always_ff @(posedge clk) begin
        if (rst) mid_we <= 1'b0;
        else mid_we <= v3 && !st2_3;
        ymid <= ymid3;
        kb4 <= kb3;
        mw4 <= mw3;
    end
endmodule
