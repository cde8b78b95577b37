# Reference values for the MMRM and the k-arm ANCOVA on the real CDISC pilot ADaM data.
#
# Run from the repository root:  Rscript tests/reference/adam.R   (each step's time is printed;
# 6.3 min wall / 2.1 min CPU on the shared 2-core machine at load ~7: gls fit 138 s, Newton
# polish + refit 124 s, KR 62 s + 27 s)
# Reads ../shared/data/cdiscpilot01/adsl.xpt and adlb.xpt with haven (an XPT reader independent of
# pyreadstat) and writes tests/fixtures/adam_from_r.py (stamped, DO NOT EDIT).
#
# Analysis set (the ADaM record rules, spelled out here independently of the Python code):
#   ADSL SAFFL == "Y"; arm = TRT01P (levels Placebo, Xanomeline Low Dose, Xanomeline High Dose);
#   ADLB PARAMCD == "GLUC", ANL01FL == "Y", DTYPE blank, scheduled visits only (AVISIT matching
#   "^Week [0-9]+$": AVISITN 4, 5, 7, 8, 9, 10, 11, 12, 13 = Week 2 .. Week 26), CHG and BASE not
#   missing.
# 1. Counts: subjects per arm in the safety population, records and subjects of the analysis set.
# 2. MMRM: nlme::gls(CHG ~ visit * arm + visit * BASE), unstructured covariance (corSymm +
#    varIdent by visit), REML, polished by one Newton step (nlme stops 3e-8 short of the REML
#    maximum here; see polish_un) and refitted. Contrasts (each xanomeline arm minus placebo at each visit; with
#    arm x visit and baseline x visit terms the difference does not depend on the baseline value)
#    and LS-means (at the mean baseline over the analysed rows, as emmeans) are formed directly as
#    L %*% coef(fit), with L built by model.matrix on a reference grid. Model-based SEs from
#    vcov(fit); Kenward-Roger SEs and df from kr_gls()/kr_at() of tests/reference/mmrm.R
#    (pbkrtest's engine on the gls fit). emmeans is not used: its Satterthwaite machinery refits
#    the 45-parameter covariance model numerically and took over 30 minutes here.
# 3. ANCOVA at Week 24 (AVISITN 12, same analysis set): lm(CHG ~ arm + BASE) and
#    lm(CHG ~ arm + BASE + AGE + SEX); coefficients of the two arm terms (each xanomeline arm
#    minus placebo): estimate, SE, t, p, 95% CI, residual df and sigma.

suppressPackageStartupMessages({
  library(haven)
  library(nlme)
  library(pbkrtest)
})

t_start <- proc.time()[["elapsed"]]
t_last <- t_start
step <- function(what) {
  now <- proc.time()[["elapsed"]]
  message(sprintf("%-46s %7.1f s (total %7.1f s)", what, now - t_last, now - t_start))
  t_last <<- now
}

# Reuse the helpers of mmrm.R (function definitions only; the rest of that script is not run).
helpers <- c("num", "vec", "mat", "str_vec", "fit_gls", "subject_cov", "sigma_nat", "phi_hat",
             "kr_gls", "kr_at", "datasets", "out_dir", "read_data")
for (e in parse("tests/reference/mmrm.R")) {
  if (is.call(e) && identical(e[[1]], as.name("<-")) && is.name(e[[2]]) &&
      as.character(e[[2]]) %in% helpers) {
    eval(e, envir = globalenv())
  }
}
stopifnot(all(sapply(helpers, exists)))

# kr_gls() of mmrm.R for the unstructured structure (linear in SAS's parameters sigma_jk, so
# no second-derivative term), with the block-diagonal V and G_k = dV/dsigma_jk kept sparse:
# mmrm.R densifies them, which on 1390 records x 45 parameters costs ~1e11 flops in
# vcovAdj_internal (over 10 minutes on a shared machine). pbkrtest's engine is the same code
# that lmer fits feed with sparse matrices. The result equals kr_gls(): checked below on
# mmrm.R's three-arm data set (tests/fixtures/mmrm_data/three_arms.csv) before it is used.
kr_gls_sparse <- function(fit, d, rhs = "visit * arm + visit * base") {
  X <- model.matrix(as.formula(paste("~", rhs)), d)
  stopifnot(identical(colnames(X), names(coef(fit))))
  T <- nlevels(d$visit)
  S <- subject_cov(fit, d)
  f <- sigma_nat("unstructured", T)
  phi <- phi_hat("unstructured", S)
  stopifnot(max(abs(f(phi) - S)) < 1e-8)
  k <- length(phi)
  idx <- split(d$vi, droplevels(d$subject))[unique(as.character(d$subject))]
  blocks <- function(M) Matrix::bdiag(lapply(idx, function(v) M[v, v, drop = FALSE]))
  J <- numDeriv::jacobian(function(p) as.vector(f(p)), phi)
  G <- lapply(seq_len(k), function(i) blocks(matrix(J[, i], T, T)))
  V <- blocks(S)
  Phi <- as.matrix(vcov(fit))
  PhiA1 <- pbkrtest:::vcovAdj_internal(Phi, list(Sigma = V, G = G, n.ggamma = k), X)
  # Lb_ddf() loops over the k (k + 1) / 2 = 1035 parameter pairs with P_i and W; as base
  # matrices rather than Matrix objects the same products run ~15x faster.
  attr(PhiA1, "P") <- lapply(attr(PhiA1, "P"), as.matrix)
  attr(PhiA1, "W") <- as.matrix(attr(PhiA1, "W"))
  list(Phi = Phi, PhiA1 = PhiA1, PhiA = as.matrix(PhiA1))
}

local({
  d3 <- read_data("three_arms")
  f3 <- fit_gls(d3, "unstructured")
  L3 <- diag(length(coef(f3)))
  a <- kr_at(kr_gls(f3, d3, "unstructured"), L3)
  b <- kr_at(kr_gls_sparse(f3, d3), L3)
  stopifnot(max(abs(a$se / b$se - 1)) < 1e-10, max(abs(a$df / b$df - 1)) < 1e-10)
})
step("sparse KR == mmrm.R kr_gls (three_arms)")

shared <- "../shared/data/cdiscpilot01"
adsl <- as.data.frame(read_xpt(file.path(shared, "adsl.xpt")))
adlb <- as.data.frame(read_xpt(file.path(shared, "adlb.xpt")))
step("read XPT (haven)")
arms <- c("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")
post <- c(4, 5, 7, 8, 9, 10, 11, 12, 13)
saf <- adsl[adsl$SAFFL == "Y", c("USUBJID", "TRT01P", "AGE", "SEX")]
stopifnot(all(saf$TRT01P %in% arms), !any(duplicated(saf$USUBJID)))

lines <- c()
add <- function(...) lines <<- c(lines, paste0(...))

add("ADSL_ROWS = ", nrow(adsl))
add("ADLB_ROWS = ", nrow(adlb))
tab <- table(factor(saf$TRT01P, levels = arms))
add("SAFETY_N = {", paste0(shQuote(names(tab), "sh"), ": ", as.integer(tab), collapse = ", "), "}")
add("SCREEN_FAILURES = ", sum(adsl$ARM == "Screen Failure"))

g <- adlb[adlb$PARAMCD == "GLUC" & adlb$ANL01FL == "Y" & adlb$DTYPE == "" &
          grepl("^Week [0-9]+$", adlb$AVISIT) & !is.na(adlb$CHG) & !is.na(adlb$BASE),
          c("USUBJID", "AVISIT", "AVISITN", "BASE", "CHG")]
stopifnot(all(g$AVISITN %in% post))
g <- merge(g, saf, by = "USUBJID")
stopifnot(!any(duplicated(g[, c("USUBJID", "AVISITN")])))
d <- data.frame(subject = factor(g$USUBJID), visit = factor(g$AVISITN, levels = post),
                arm = factor(g$TRT01P, levels = arms), base = g$BASE, y = g$CHG,
                AGE = g$AGE, SEX = factor(g$SEX))
d$vi <- as.integer(d$visit)
d <- d[order(d$subject, d$vi), ]
rownames(d) <- NULL
tabg <- table(d$arm[!duplicated(d$subject)])
add("GLUC_RECORDS = ", nrow(d))
add("GLUC_SUBJECTS = ", nlevels(droplevels(d$subject)))
add("GLUC_SUBJECTS_BY_ARM = {", paste0(shQuote(names(tabg), "sh"), ": ", as.integer(tabg),
                                       collapse = ", "), "}")
add("GLUC_RECORDS_BY_VISIT = {", paste0(post, ": ", as.integer(table(d$visit)), collapse = ", "),
    "}")
add("GLUC_MEAN_BASE = ", num(mean(d$base)))
add("")
step("analysis set")

fit <- fit_gls(d, "unstructured")
step("gls fit (UN, REML)")

# nlme's optimiser (nlminb on the spherical parametrisation of corSymm) stops short on these data:
# the REML log-likelihood is 3e-8 below its maximum and Sigma is off by up to 1e-4 relative. One
# Newton step on nlme's own full REML log-likelihood (numDeriv gradient and Hessian in nlme's
# unconstrained parameters) reaches the maximum to ~1e-11; gls is then refitted from there so
# that every later step uses an ordinary gls object, and the gain is checked.
polish_un <- function(fit, d, rhs = "visit * arm + visit * base") {
  X <- model.matrix(as.formula(paste("~", rhs)), d)
  conLin <- list(Xy = array(c(X, d$y), c(nrow(X), ncol(X) + 1L)),
                 dims = list(N = nrow(X), p = ncol(X), REML = 1L), logLik = 0,
                 fixedSigma = FALSE)
  st <- fit$modelStruct
  N <- nrow(X) - ncol(X)
  ll <- function(P) nlme:::glsApVar.fullGlsLogLik(P, st, conLin, conLin$dims, N) - N / 2 * log(2 * pi)
  P0 <- c(coef(st), lSigma = log(fit$sigma))
  stopifnot(abs(ll(P0) - as.numeric(logLik(fit))) < 1e-6)
  gr <- numDeriv::grad(ll, P0)
  H <- numDeriv::hessian(ll, P0, method.args = list(r = 2))
  P1 <- P0 - solve(H, gr)
  stopifnot(ll(P1) > ll(P0))
  coef(st) <- P1[-length(P1)]
  assign("d_fit", d, envir = globalenv())
  refit <- gls(as.formula(paste("y ~", rhs)), data = d_fit,
               correlation = corSymm(value = coef(st$corStruct, unconstrained = FALSE),
                                     form = ~ vi | subject),
               weights = varIdent(value = coef(st$varStruct, unconstrained = FALSE),
                                  form = ~ 1 | visit),
               method = "REML",
               control = glsControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-10,
                                    msTol = 1e-12))
  message(sprintf("REML logLik: nlme %.12f, Newton step %.12f, refit %.12f", ll(P0), ll(P1),
                  as.numeric(logLik(refit))))
  stopifnot(as.numeric(logLik(refit)) >= ll(P1) - 1e-9)
  list(fit = refit, loglik_nlme = ll(P0), max_grad_nlme = max(abs(gr)))
}
pol <- polish_un(fit, d)
fit_nlme <- fit
fit <- pol$fit
step("Newton polish + gls refit")

# Reference grid: every visit x arm at the mean baseline; L rows from the model's own formula.
grid <- expand.grid(arm = factor(arms, levels = arms), visit = factor(post, levels = post))
grid$base <- mean(d$base)
Lg <- model.matrix(~ visit * arm + visit * base, grid)
stopifnot(identical(colnames(Lg), names(coef(fit))))
ref <- which(grid$arm == "Placebo")
Lc <- do.call(rbind, lapply(seq_along(post), function(t) {
  rows <- which(grid$visit == post[t])
  Lg[rows[-1], , drop = FALSE] - matrix(Lg[rows[1], ], length(rows) - 1, ncol(Lg), byrow = TRUE)
}))
c_visit <- rep(post, each = length(arms) - 1)
c_label <- rep(paste(arms[-1], "- Placebo"), length(post))
# The contrast does not depend on the baseline value: the base and visit:base columns cancel.
stopifnot(all(Lc[, grepl("base", colnames(Lc))] == 0))

beta <- coef(fit)
Phi <- as.matrix(vcov(fit))
est <- drop(Lc %*% beta)
se_model <- sqrt(rowSums((Lc %*% Phi) * Lc))
ls_est <- drop(Lg %*% beta)
ls_se_model <- sqrt(rowSums((Lg %*% Phi) * Lg))
S <- subject_cov(fit, d)
step("contrasts, model-based SEs")

add("MMRM_GLUC = {")
add("    'formula': 'CHG ~ factor(AVISITN) * arm + factor(AVISITN) * BASE',")
add("    'n_obs': ", nrow(d), ",")
add("    'n_subjects': ", nlevels(droplevels(d$subject)), ",")
add("    'loglik': ", num(as.numeric(logLik(fit))), ",")
add("    'loglik_nlme_unpolished': ", num(pol$loglik_nlme), ",")
add("    'covariance_nlme_unpolished': ", mat(subject_cov(fit_nlme, d)), ",")
add("    'n_cov_params': ", attr(logLik(fit), "df") - length(beta), ",")
add("    'covariance': ", mat(S), ",")
add("    'coef_names': ", str_vec(names(beta)), ",")
add("    'coef': ", vec(beta), ",")
add("    'coef_se_model': ", vec(sqrt(diag(Phi))), ",")
add("    'contrast_visit': ", vec(c_visit), ",")
add("    'contrast_label': ", str_vec(c_label), ",")
add("    'contrast': ", vec(est), ",")
add("    'contrast_se_model': ", vec(se_model), ",")
add("    'lsmeans_visit': ", vec(as.numeric(as.character(grid$visit))), ",")
add("    'lsmeans_arm': ", str_vec(grid$arm), ",")
add("    'lsmeans': ", vec(ls_est), ",")
add("    'lsmeans_se_model': ", vec(ls_se_model), ",")

kr <- kr_gls_sparse(fit, d)
step("Kenward-Roger adjusted covariance (pbkrtest)")
ct_kr <- kr_at(kr, Lc)
ls_kr <- kr_at(kr, Lg)
step("Kenward-Roger df (Lb_ddf)")
t_kr <- est / ct_kr$se
add("    'contrast_se_kr': ", vec(ct_kr$se), ",")
add("    'contrast_df_kr': ", vec(ct_kr$df), ",")
add("    't_value_kr': ", vec(t_kr), ",")
add("    'p_value_kr': ", vec(2 * pt(-abs(t_kr), ct_kr$df)), ",")
add("    'lsmeans_se_kr': ", vec(ls_kr$se), ",")
add("    'lsmeans_df_kr': ", vec(ls_kr$df), ",")
add("}")
add("")

w24 <- d[d$visit == 12, ]
w24$BASE <- w24$base
w24$CHG <- w24$y
add("ANCOVA_W24 = {")
for (spec in list(list(key = "base", rhs = "arm + BASE"),
                  list(key = "covariates", rhs = "arm + BASE + AGE + SEX"))) {
  m <- lm(as.formula(paste("CHG ~", spec$rhs)), data = w24)
  sm <- summary(m)$coefficients
  rows <- paste0("arm", arms[-1])
  ci <- confint(m)[rows, ]
  add("    ", shQuote(spec$key, "sh"), ": {")
  add("        'formula': ", shQuote(paste("CHG ~", spec$rhs), "sh"), ",")
  add("        'n': ", nobs(m), ",")
  add("        'n_by_arm': ", vec(as.integer(table(w24$arm))), ",")
  add("        'terms': ", str_vec(rows), ",")
  add("        'estimate': ", vec(sm[rows, "Estimate"]), ",")
  add("        'se': ", vec(sm[rows, "Std. Error"]), ",")
  add("        't_value': ", vec(sm[rows, "t value"]), ",")
  add("        'p_value': ", vec(sm[rows, "Pr(>|t|)"]), ",")
  add("        'ci_low': ", vec(ci[, 1]), ",")
  add("        'ci_high': ", vec(ci[, 2]), ",")
  add("        'df': ", m$df.residual, ",")
  add("        'sigma': ", num(summary(m)$sigma), ",")
  add("    },")
}
add("}")
step("ANCOVA (lm)")

header <- c(
  paste0('"""Generated by tests/reference/adam.R on ', format(Sys.Date()), " with ", R.version.string,
         " (haven ", packageVersion("haven"), ", nlme ", packageVersion("nlme"), ", pbkrtest ",
         packageVersion("pbkrtest"), ", Matrix ", packageVersion("Matrix"), ", numDeriv ",
         packageVersion("numDeriv"), ")."),
  "",
  "DO NOT EDIT. Data: ../shared/data/cdiscpilot01/adsl.xpt and adlb.xpt (real CDISC pilot ADaM).",
  '"""',
  "",
  "ARMS = ['Placebo', 'Xanomeline Low Dose', 'Xanomeline High Dose']",
  "GLUC_VISITS = [4, 5, 7, 8, 9, 10, 11, 12, 13]")
writeLines(c(header, lines), "tests/fixtures/adam_from_r.py")
step("wrote tests/fixtures/adam_from_r.py")
