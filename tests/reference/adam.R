# Reference values for the ADaM reader and the k-arm ANCOVA on the real CDISC pilot data.
#
# Run from the repository root:  Rscript tests/reference/adam.R
# Reads ../shared/data/cdiscpilot01/adsl.xpt and adlb.xpt with haven (an independent XPT
# reader) and writes tests/fixtures/adam_from_r.py (stamped, DO NOT EDIT).
#
# Analysis set (the ADaM record rules, spelled out here independently of the Python code):
#   ADSL SAFFL == "Y"; arm = TRT01P (levels Placebo, Xanomeline Low Dose, Xanomeline High Dose);
#   ADLB PARAMCD == "GLUC", ANL01FL == "Y", DTYPE blank, scheduled visits only (AVISIT not
#   "Unscheduled ..."), post-baseline AVISITN 4, 5, 7, ..., 13 (Week 2 .. Week 26), CHG and
#   BASE not missing.
# 1. Counts: subjects per arm in the safety population, records of the analysis set.
# 2. MMRM: nlme::gls(CHG ~ visit * arm + visit * base), unstructured covariance (corSymm +
#    varIdent), REML; emmeans trt.vs.ctrl1 contrasts per visit; Kenward-Roger SEs and df with
#    kr_gls()/kr_at() of tests/reference/mmrm.R (pbkrtest's engine on the gls fit).
# 3. ANCOVA at Week 24 (AVISITN 12): lm(CHG ~ arm + BASE), and lm(CHG ~ arm + BASE + AGE + SEX
#    + AGEGR1) (SEX and AGEGR1 as factors); coefficients of the arm terms (each xanomeline arm
#    minus placebo), model SEs, df, p, 95% CI, and HC3 SEs (sandwich::vcovHC).

suppressPackageStartupMessages({
  library(haven)
  library(nlme)
  library(emmeans)
  library(pbkrtest)
  library(sandwich)
})
emm_options(msg.interaction = FALSE)

# Reuse the helpers of mmrm.R (function definitions only; the rest of that script is not run).
helpers <- c("num", "vec", "str_vec", "fit_gls", "subject_cov", "sigma_nat", "phi_hat", "kr_gls",
             "kr_at")
for (e in parse("tests/reference/mmrm.R")) {
  if (is.call(e) && identical(e[[1]], as.name("<-")) && is.name(e[[2]]) && as.character(e[[2]]) %in% helpers) {
    eval(e, envir = globalenv())
  }
}

shared <- "../shared/data/cdiscpilot01"
adsl <- as.data.frame(read_xpt(file.path(shared, "adsl.xpt")))
adlb <- as.data.frame(read_xpt(file.path(shared, "adlb.xpt")))
arms <- c("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")
saf <- adsl[adsl$SAFFL == "Y", c("USUBJID", "TRT01P", "AGE", "SEX", "AGEGR1")]

lines <- c()
add <- function(...) lines <<- c(lines, paste0(...))

add("ADSL_ROWS = ", nrow(adsl))
add("ADLB_ROWS = ", nrow(adlb))
add("ADSL_COLUMNS = ", ncol(adsl))
add("ADLB_COLUMNS = ", ncol(adlb))
tab <- table(factor(saf$TRT01P, levels = arms))
add("SAFETY_N = {", paste0(shQuote(names(tab), "sh"), ": ", as.integer(tab), collapse = ", "), "}")
add("SCREEN_FAILURES = ", sum(adsl$ARM == "Screen Failure"))

post <- c(4, 5, 7, 8, 9, 10, 11, 12, 13)
g <- adlb[adlb$PARAMCD == "GLUC" & adlb$ANL01FL == "Y" & adlb$DTYPE == "" &
          !grepl("^UNSCHEDULED", toupper(adlb$AVISIT)) & adlb$AVISITN %in% post &
          !is.na(adlb$CHG) & !is.na(adlb$BASE), c("USUBJID", "AVISITN", "AVAL", "BASE", "CHG")]
g <- merge(g, saf, by = "USUBJID")
stopifnot(!any(duplicated(g[, c("USUBJID", "AVISITN")])))
d <- data.frame(subject = factor(g$USUBJID), visit = factor(g$AVISITN, levels = post),
                arm = factor(g$TRT01P, levels = arms), base = g$BASE, y = g$CHG)
d$vi <- as.integer(d$visit)
d <- d[order(d$subject, d$vi), ]
add("GLUC_RECORDS = ", nrow(d))
add("GLUC_SUBJECTS = ", nlevels(droplevels(d$subject)))

fit <- fit_gls(d, "unstructured")
emm <- emmeans(fit, ~ arm | visit, mode = "satterthwaite", data = d)
con <- contrast(emm, "trt.vs.ctrl1")
ct <- as.data.frame(summary(con, infer = TRUE, adjust = "none"))
kr <- kr_gls(fit, d, "unstructured")
ct_kr <- kr_at(kr, con@linfct)
add("MMRM_GLUC = {")
add("    'loglik': ", num(as.numeric(logLik(fit))), ",")
add("    'contrast_visit': ", vec(as.numeric(as.character(ct$visit))), ",")
add("    'contrast_label': ", str_vec(ct$contrast), ",")
add("    'contrast': ", vec(ct$estimate), ",")
add("    'contrast_se_model': ", vec(ct$SE), ",")
add("    'contrast_se_kr': ", vec(ct_kr$se), ",")
add("    'contrast_df_kr': ", vec(ct_kr$df), ",")
add("}")

w24 <- merge(adlb[adlb$PARAMCD == "GLUC" & adlb$ANL01FL == "Y" & adlb$DTYPE == "" &
                  adlb$AVISITN == 12 & !is.na(adlb$CHG), c("USUBJID", "BASE", "CHG")],
             saf, by = "USUBJID")
w24$arm <- factor(w24$TRT01P, levels = arms)
add("ANCOVA_W24 = {")
for (spec in list(list(key = "base", rhs = "arm + BASE"),
                  list(key = "covariates", rhs = "arm + BASE + AGE + factor(SEX) + factor(AGEGR1)"))) {
  m <- lm(as.formula(paste("CHG ~", spec$rhs)), data = w24)
  sm <- summary(m)$coefficients
  rows <- paste0("arm", arms[-1])
  ci <- confint(m)[rows, ]
  hc3 <- sqrt(diag(vcovHC(m, type = "HC3")))[rows]
  add("    ", shQuote(spec$key, "sh"), ": {")
  add("        'formula': ", shQuote(paste("CHG ~", spec$rhs), "sh"), ",")
  add("        'n': ", nobs(m), ",")
  add("        'estimate': ", vec(sm[rows, "Estimate"]), ",")
  add("        'se': ", vec(sm[rows, "Std. Error"]), ",")
  add("        'p_value': ", vec(sm[rows, "Pr(>|t|)"]), ",")
  add("        'ci_low': ", vec(ci[, 1]), ",")
  add("        'ci_high': ", vec(ci[, 2]), ",")
  add("        'se_hc3': ", vec(hc3), ",")
  add("        'df': ", m$df.residual, ",")
  add("        'sigma': ", num(summary(m)$sigma), ",")
  add("    },")
}
add("}")

header <- c(
  paste0('"""Generated by tests/reference/adam.R on ', format(Sys.Date()), " with ", R.version.string,
         " (haven ", packageVersion("haven"), ", nlme ", packageVersion("nlme"), ", emmeans ",
         packageVersion("emmeans"), ", pbkrtest ", packageVersion("pbkrtest"), ", sandwich ",
         packageVersion("sandwich"), ")."),
  "",
  "DO NOT EDIT. Data: ../shared/data/cdiscpilot01/adsl.xpt and adlb.xpt (real CDISC pilot ADaM).",
  '"""',
  "",
  "ARMS = ['Placebo', 'Xanomeline Low Dose', 'Xanomeline High Dose']",
  "GLUC_VISITS = [4, 5, 7, 8, 9, 10, 11, 12, 13]")
writeLines(c(header, lines), "tests/fixtures/adam_from_r.py")
