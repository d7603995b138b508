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
// writes only after stage 2's last read (reads are issued 3 cycles before writes land). Between
// the stages the sequencer idles DRAIN issue slots (0..3) so that no stage-2 read of a mid word
// comes before stage 1's write of it lands; the generator computes the fewest safe DRAIN from the
// schedule (codesign/rtl/kron.py drain_cycles); 3 is always safe.
// Input: AXI-Stream, SIMD elements per beat, N/SIMD beats a sample, double-buffered; the bank is
// released when stage 1 ends, so the next sample loads during stage 2.
// Output: AXI-Stream, PE elements per beat, tlast on the sample's last beat.
// Factor memory (load port wl_*): words 0 .. DA-1 hold A, word (r*J1F + j1f)*I1F + i1f with lane
// (p, s) at bits (p*SIMD+s)*AW; words DA .. DA+DB-1 hold B, word DA + j2*KF + kf with lane s at
// bits s*BW (B[r, j2, i2] for k = kf*SIMD+s = r*N2+i2, zero for padded k). Parameter memory
// (pl_*): word j2*J1F + j1f, lane p = {1'b0 shift, bias} at bits p*(1+B_W), as mvau.
// Zero factor entries are not skipped: the factors are dense after training (the L1 penalty leaves
// few exact zeros), and a skip would break the fixed schedule that keeps every lane busy.
// Pipeline and stall: as mvau (issue -> read -> dot -> accumulate -> requant/out), all stages on
// `en` (output register empty or taken).
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
    parameter int DRAIN = 3,         // idle issue slots between stage 1 and stage 2 (0..3)
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
    logic [SIMD*XW-1:0] ibuf [0:(2<<SCW)-1];
    logic [1:0] full;
    logic wbank, rbank;
    logic [SCW-1:0] wptr;
    wire wr = s_tvalid && s_tready;
    wire wr_last = wptr == SCW'(SF - 1);
    assign s_tready = !full[wbank];
    always_ff @(posedge clk) if (wr) ibuf[{wbank, wptr}] <= s_tdata;

    // ------------------------------------------------------------------ sequencer (stage 0)
    logic [1:0] phase;
    logic v1, v2, v3;
    wire en = !m_tvalid || m_tready;
    // stage-1 counters and addresses
    logic [IC-1:0] i1f;
    logic [JC-1:0] j1f;
    logic [N2C-1:0] i2;
    logic [RC-1:0] r;
    logic [AAW-1:0] abase, aaddr;        // A word (r*J1F + j1f)*I1F + i1f
    logic [SCW-1:0] xbase, xaddr;        // input beat i2*I1F + i1f
    logic [SBC-1:0] kb;                  // mid bank of k = r*N2 + i2
    logic [MAW-1:0] kwbase;              // (k / SIMD) * J1F
    logic [MAW-1:0] mwaddr;              // kwbase + j1f
    // stage-2 counters and addresses
    logic [KC-1:0] kf;
    logic [M2C-1:0] j2;
    logic [BAW-1:0] bbase, baddr;        // B word j2*KF + kf
    logic [MAW-1:0] mraddr;              // mid word kf*J1F + j1f
    logic [PAW-1:0] ob;                  // output beat / parameter word j2*J1F + j1f

    logic [1:0] dcnt;                                  // enabled idle slots spent in PH_DRAIN
    wire drained = dcnt == 2'(DRAIN);
    wire s1 = phase == PH_S1;
    // stage 2 issues in the slot after the last drain slot (all stages move together on en, so the
    // distance from a mid write to its read is counted in enabled cycles)
    wire s2 = phase == PH_S2 || (phase == PH_DRAIN && drained);
    wire issue1 = en && s1 && full[rbank];
    wire issue2 = en && s2;
    wire issue = issue1 || issue2;
    wire last_i1f = i1f == IC'(I1F - 1);
    wire last_j1f = j1f == JC'(J1F - 1);
    wire last_i2 = i2 == N2C'(N2 - 1);
    wire last_r = r == RC'(R - 1);
    wire last_kf = kf == KC'(KF - 1);
    wire last_j2 = j2 == M2C'(M2 - 1);
    wire blk1 = last_i1f && last_j1f;                  // end of one (r, i2) row of stage 1
    wire end1 = issue1 && blk1 && last_i2 && last_r;
    wire end2 = issue2 && last_kf && last_j1f && last_j2;

    always_ff @(posedge clk) begin
        if (rst) begin
            full <= 2'b00;
            wbank <= 1'b0;
            rbank <= 1'b0;
            wptr <= '0;
            phase <= PH_S1;
            dcnt <= '0;
            i1f <= '0; j1f <= '0; i2 <= '0; r <= '0;
            abase <= '0; aaddr <= '0; xbase <= '0; xaddr <= '0;
            kb <= '0; kwbase <= '0; mwaddr <= '0;
            kf <= '0; j2 <= '0; bbase <= '0; baddr <= '0; mraddr <= '0; ob <= '0;
        end else begin
            if (wr) begin
                wptr <= wr_last ? '0 : wptr + SCW'(1);
                if (wr_last) wbank <= ~wbank;
            end
            for (int b = 0; b < 2; b++) begin
                if (wr && wr_last && wbank == b[0]) full[b] <= 1'b1;
                else if (end1 && rbank == b[0]) full[b] <= 1'b0;
            end
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
                    rbank <= ~rbank;
                    phase <= DRAIN == 0 ? PH_S2 : PH_DRAIN;
                    dcnt <= '0;
                end
            end
            if (phase == PH_DRAIN) begin
                if (drained) phase <= PH_S2;
                else if (en) dcnt <= dcnt + 2'd1;
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
    logic [SIMD*XW-1:0] x1;
    logic [PE*SIMD*AW-1:0] wa1;
    logic [SIMD*BW-1:0] wb1;
    logic [SIMD*PE*MID_W-1:0] md1;
    logic st2_1, first1, last1, tlast1;
    logic [SBC-1:0] kb1;
    logic [MAW-1:0] mw1;
    logic [PAW-1:0] ob1;
    always_ff @(posedge clk) begin
        if (en) begin
            x1 <= ibuf[{rbank, xaddr}];
            st2_1 <= s2;
            first1 <= s2 ? kf == '0 : i1f == '0;
            last1 <= s2 ? last_kf : last_i1f;
            tlast1 <= last_j2 && last_j1f;
            kb1 <= kb;
            mw1 <= mwaddr;
            ob1 <= ob;
        end
        if (rst) v1 <= 1'b0;
        else if (en) v1 <= issue;
    end
    wire a_we = wl_we && wl_addr < WAW'(DA);
    wire b_we = wl_we && wl_addr >= WAW'(DA);
    wire [AAW-1:0] a_wa = AAW'(wl_addr);
    wire [BAW-1:0] b_wa = BAW'(wl_addr - WAW'(DA));
    wmem #(.DW(PE * SIMD * AW), .DEPTH(DA), .AW(AAW), .INIT(A_INIT)) u_amem (
        .clk(clk), .re(en), .raddr(aaddr), .rdata(wa1),
        .we(a_we), .waddr(a_wa), .wdata(wl_data[PE*SIMD*AW-1:0])
    );
    wmem #(.DW(SIMD * BW), .DEPTH(DB), .AW(BAW), .INIT(B_INIT)) u_bmem (
        .clk(clk), .re(en), .raddr(baddr), .rdata(wb1),
        .we(b_we), .waddr(b_wa), .wdata(wl_data[SIMD*BW-1:0])
    );
    // mid banks: written by stage-1 results (stage 3 below), read by stage-2 issue
    logic mid_we;
    logic [SBC-1:0] kb3;
    logic [MAW-1:0] mw3;
    logic [PE*MID_W-1:0] ymid;
    for (genvar s = 0; s < SIMD; s++) begin : g_bank
        kron_mid_bank #(.DW(PE * MID_W), .AW(MAW)) u_bank (
            .clk(clk), .re(en), .raddr(mraddr), .rdata(md1[s*PE*MID_W +: PE*MID_W]),
            .we(mid_we && kb3 == SBC'(s)), .waddr(mw3), .wdata(ymid)
        );
    end

    // ------------------------------------------------------------------ stage 2: SIMD dot products
    // shared lanes: stage 1 feeds (X, A), stage 2 (mid, B), both widened to signed UW x WU
    logic signed [DOT_W-1:0] dot1 [0:PE-1];
    logic signed [DOT_W-1:0] dot2 [0:PE-1];
    logic v2_st2, first2, last2, tlast2;
    logic [SBC-1:0] kb2;
    logic [MAW-1:0] mw2;
    logic [PAW-1:0] ob2;
    for (genvar p = 0; p < PE; p++) begin : g_pe
        logic [SIMD*UW-1:0] ux;
        logic [SIMD*WU-1:0] uw;
        for (genvar s = 0; s < SIMD; s++) begin : g_s
            wire [XW-1:0] xr = x1[s*XW +: XW];
            wire [MID_W-1:0] mr = md1[(s*PE+p)*MID_W +: MID_W];
            wire signed [XW:0] xs = (X_SIGNED != 0) ? $signed({xr[XW-1], xr}) : $signed({1'b0, xr});
            wire signed [MID_W:0] ms = (MID_SIGNED != 0) ? $signed({mr[MID_W-1], mr}) : $signed({1'b0, mr});
            wire signed [AW-1:0] as_ = wa1[(p*SIMD+s)*AW +: AW];
            wire signed [BW-1:0] bs_ = wb1[s*BW +: BW];
            assign ux[s*UW +: UW] = st2_1 ? UW'(ms) : UW'(xs);
            assign uw[s*WU +: WU] = st2_1 ? WU'(bs_) : WU'(as_);
        end
        dot_simd #(.SIMD(SIMD), .XW(UW), .X_SIGNED(1), .WW(WU), .DOT_W(DOT_W)) u_dot (
            .x(ux), .w(uw), .dot(dot1[p])
        );
        always_ff @(posedge clk) if (en) dot2[p] <= dot1[p];
    end
    always_ff @(posedge clk) begin
        if (en) begin
            v2_st2 <= st2_1;
            first2 <= first1;
            last2 <= last1;
            tlast2 <= tlast1;
            kb2 <= kb1;
            mw2 <= mw1;
            ob2 <= ob1;
        end
        if (rst) v2 <= 1'b0;
        else if (en) v2 <= v1;
    end

    // ------------------------------------------------------------------ stage 3: accumulate
    logic signed [DOT_W-1:0] acc [0:PE-1];
    logic st2_3, tlast3;
    logic [PDW-1:0] prm3;
    for (genvar p = 0; p < PE; p++) begin : g_acc
        always_ff @(posedge clk) if (en && v2) acc[p] <= (first2 ? '0 : acc[p]) + dot2[p];
    end
    always_ff @(posedge clk) begin
        if (en) begin
            tlast3 <= tlast2;
            st2_3 <= v2_st2;
            kb3 <= kb2;
            mw3 <= mw2;
        end
        if (rst) v3 <= 1'b0;
        else if (en) v3 <= v2 && last2;
    end
    wmem #(.DW(PDW), .DEPTH(NB), .AW(PAW), .INIT(P_INIT)) u_pmem (
        .clk(clk), .re(en), .raddr(ob2), .rdata(prm3),
        .we(pl_we), .waddr(pl_addr), .wdata(pl_data)
    );

    // ------------------------------------------------------------------ stage 4: requant, mid write / output
    logic [PE*OUT_W-1:0] y3;
    for (genvar p = 0; p < PE; p++) begin : g_rq
        requant #(
            .DOT_W(DOT_W), .SH_W(1), .B_W(1), .PS(0), .BS(0), .W(RW1),
            .ACC_W(DOT_W), .ACC_SIGNED(1), .ACC_OVF(0), .RELU(0),
            .OS(OS1), .RND(RND1), .OUT_W(MID_W), .OUT_SIGNED(MID_SIGNED), .OUT_OVF(MID_OVF)
        ) u_rq1 (
            .dot(acc[p]), .shift(1'b0), .bias(1'b0), .y(ymid[p*MID_W +: MID_W])
        );
        requant #(
            .DOT_W(DOT_W), .SH_W(1), .B_W(B_W), .PS(PS), .BS(BS), .W(RW),
            .ACC_W(ACC_W), .ACC_SIGNED(ACC_SIGNED), .ACC_OVF(ACC_OVF), .RELU(RELU),
            .OS(OS), .RND(RND), .OUT_W(OUT_W), .OUT_SIGNED(OUT_SIGNED), .OUT_OVF(OUT_OVF)
        ) u_rq2 (
            .dot(acc[p]),
            .shift(prm3[p*(1+B_W)+B_W +: 1]),
            .bias(prm3[p*(1+B_W) +: B_W]),
            .y(y3[p*OUT_W +: OUT_W])
        );
    end
    assign mid_we = en && v3 && !st2_3;
    always_ff @(posedge clk) begin
        if (en) begin
            m_tdata <= y3;
            m_tlast <= tlast3;
        end
        if (rst) m_tvalid <= 1'b0;
        else if (en) m_tvalid <= v3 && st2_3;
    end
endmodule

// One bank of the intermediate (mid) buffer: 1W1R, registered enable-gated read, no initial value
// (every word stage 2 reads is written by stage 1 of the same sample first).
module kron_mid_bank #(
    parameter int DW = 8,
    parameter int AW = 4
) (
    input  logic          clk,
    input  logic          re,
    input  logic [AW-1:0] raddr,
    output logic [DW-1:0] rdata,
    input  logic          we,
    input  logic [AW-1:0] waddr,
    input  logic [DW-1:0] wdata
);
    logic [DW-1:0] mem [0:(1<<AW)-1];
    always_ff @(posedge clk) begin
        if (we) mem[waddr] <= wdata;
        if (re) rdata <= mem[raddr];
    end
endmodule
